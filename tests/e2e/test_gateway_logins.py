"""The gateway's kept logins (orchestrator/login_cache.py) with real processes: a token revoked
through the API is refused at once through the gateway of every replica, although each had kept
it; a login changed behind the platform's back is refused within LOGIN_CACHE_SECONDS.

Who the gateway takes the caller for shows in a draft: its organizer is told it is not published
(409), anyone else that there is no such tournament (404)."""
import time

import sqlalchemy as sa

from shared.db.tables import api_tokens
from tests.support.api import Api, make_tournament, ok


def seen_as(client, tid):
    answer = client.get(f"/t/{tid}/api/state")
    return {409: "organizer", 404: "stranger"}.get(answer.status_code, answer.text)


def second_login(orchestrator, url=None):
    """Another login (token) of the orchestrator's own organizer, sent to `url`."""
    client = Api(orchestrator.url).login(orchestrator.api.user["username"], register=False)
    client.base = url or orchestrator.url
    return client


def test_a_revoked_token_is_refused_at_once_by_every_replica(start_orchestrator):
    first = start_orchestrator(LOGIN_CACHE_SECONDS="600")
    second = start_orchestrator(START_SUPERVISOR="0", LOGIN_CACHE_SECONDS="600")
    tid = make_tournament(first.api, "DRAFT")["id"]
    login = second_login(first)
    on_second = second_login(first, second.url)
    on_second.session.headers["Authorization"] = login.session.headers["Authorization"]
    for _ in range(2):  # each replica now keeps the login
        assert seen_as(login, tid) == seen_as(on_second, tid) == "organizer"

    ok(login.post("/api/v1/auth/logout"), 204)

    assert seen_as(on_second, tid) == seen_as(login, tid) == "stranger"
    assert seen_as(first.api, tid) == "organizer"  # only that login ended


def test_a_login_revoked_by_hand_is_refused_within_the_cache_lifetime(start_orchestrator, db_engine):
    orchestrator = start_orchestrator(LOGIN_CACHE_SECONDS="1")
    tid = make_tournament(orchestrator.api, "DRAFT")["id"]
    assert seen_as(orchestrator.api, tid) == "organizer"
    with db_engine.begin() as conn:  # no stamp is set: only the entry's age can end it
        conn.execute(sa.update(api_tokens).where(api_tokens.c.user_id == orchestrator.api.user["id"])
                     .values(revoked_at=sa.func.now()))
    time.sleep(1.2)
    assert seen_as(orchestrator.api, tid) == "stranger"
