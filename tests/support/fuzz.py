"""For the fuzz tests: a real platform with tournaments in every phase, and what "changed nothing" means."""
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from shared.db.tables import (announcements, api_tokens, chat_messages, subscriptions, tournament_events, tournaments,
                              users)
from tests.support.api import make_tournament, ok


@pytest.fixture
def fuzz_platform(start_orchestrator, database_url, capsys):
    """A real orchestrator with tournaments in DRAFT, REGISTRATION, ACTIVE and CANCELLED, and the
    ids a fuzzer should mostly use. Prints how many requests got which status at the end."""
    orchestrator = start_orchestrator()
    api = orchestrator.api
    draft = make_tournament(api, "DRAFT", name="Fuzz Draft")
    registration = make_tournament(api, "REGISTRATION", teams=3, name="Fuzz Signup", max_teams=16)
    active = make_tournament(api, "ACTIVE", teams=6, name="Fuzz League", format="round_robin", best_of=3)
    ended = make_tournament(api, "ACTIVE", teams=4, name="Fuzz Cancelled")
    ok(api.post(f"/api/v1/tournaments/{ended['id']}/cancel"))
    matches = [m["id"] for m in ok(api.get(f"/t/{active['id']}/api/matches"))["items"]]
    spare = api.as_user(f"fuzz-spare-{draft['id']}")  # revoking may hit its token: not ours
    engine = sa.create_engine(database_url)
    statuses = Counter()
    yield {
        "url": orchestrator.url, "api": api, "engine": engine, "statuses": statuses,
        "own_tokens": {token["id"] for token in ok(api.get("/api/v1/auth/tokens"))["items"]},
        "ids": {"tournament_id": [draft["id"], registration["id"], active["id"], ended["id"]],
                "team_id": [f"team_{n}" for n in range(1, 7)], "match_id": matches,
                "token_id": [ok(spare.get("/api/v1/auth/tokens"))["items"][0]["id"]],
                "user_id": [api.user["id"]]},
    }
    # A start the drivers can't read back (year past 9999, before 1) makes every later listing fail:
    # until nothing can store one, don't leave it to the tests after this one.
    with engine.begin() as conn:
        conn.execute(sa.delete(tournaments).where(sa.or_(tournaments.c.starts_at > "9999-12-31T23:59:59Z",
                                                         tournaments.c.starts_at < "0001-01-01T00:00:00Z")))
    engine.dispose()
    with capsys.disabled():
        print(f"\n{sum(statuses.values())} requests: " + ", ".join(f"{k}: {n}" for k, n in sorted(statuses.items())))


def database_state(engine):
    """Everything a request could change: registry rows, accounts, tokens, subscriptions, logs, chats."""
    with engine.connect() as conn:
        def rows(table):
            # As text: a row the drivers can't read back (a year past 9999) must still be compared.
            # `endpoint` is the supervisor's: it follows health checks, whatever the clients ask.
            columns = [sa.cast(column, sa.Text) for column in table.c if column.name != "endpoint"]
            return sorted(tuple(conn.execute(sa.select(*columns))))
        logs = conn.execute(sa.select(tournament_events.c.tournament_id, sa.func.count())
                            .group_by(tournament_events.c.tournament_id)).all()
        return {"tournaments": rows(tournaments), "users": rows(users), "api_tokens": rows(api_tokens),
                "subscriptions": rows(subscriptions), "logs": sorted(logs), "chats": rows(chat_messages),
                "announcements": conn.execute(sa.select(sa.func.count()).select_from(announcements)).scalar()}


def _mirrors_settled(engine):
    """Every registry state mirror shows the last state change in its tournament's log."""
    last = (sa.select(tournament_events.c.payload)
            .where(tournament_events.c.tournament_id == tournaments.c.id, tournament_events.c.type == "state_changed")
            .order_by(tournament_events.c.seq.desc()).limit(1).scalar_subquery())
    with engine.connect() as conn:
        served = conn.execute(sa.select(tournaments.c.state, last)
                              .where(tournaments.c.state.in_(["REGISTRATION", "ACTIVE"]))).all()
    return all(not payload or f'"to_state":"{state}"' in payload for state, payload in served)


def settled_state(engine, timeout=3.0):
    """database_state once the relay has mirrored every state change already in the logs (it
    follows them asynchronously, so an earlier accepted command may still be on its way)."""
    deadline = time.monotonic() + timeout
    while not _mirrors_settled(engine) and time.monotonic() < deadline:
        time.sleep(0.05)
    return database_state(engine)


def changes(before, engine):
    """{name: (what was there before only, what is there now only)} of what differs from `before`."""
    after = database_state(engine)

    def only(one, other):
        return [row for row in one if row not in other][:3] if isinstance(one, list) else one
    return {name: (only(before[name], after[name]), only(after[name], before[name]))
            for name in before if before[name] != after[name]}
