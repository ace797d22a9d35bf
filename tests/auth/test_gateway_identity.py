"""Tournament servers trust only the gateway: every write needs a fresh identity signed for exactly that
request (tournament, method, path), with the secret shared by orchestrator and servers.

First against a tournament server in this process, then end to end: a real orchestrator process, its
spawned server's own port, and the gateway in front of it.
"""
import base64
import hashlib
import hmac
import json
import time

import psutil
import pytest
import requests
import sqlalchemy as sa

from shared.db.tables import tournament_events
from shared.identity import IDENTITY_HEADER, SIGNATURE_HEADER, sign
from tests.auth.helpers import ORGANIZER, error_of, expect, signed, unique
from tests.conftest import GATEWAY_SECRET
from tests.e2e.helpers import server_of
from tests.support.api import make_tournament, ok

VIEWER = {"id": 424242, "username": "viewer"}
TEAMS = "/api/teams"


def mac(text, secret=GATEWAY_SECRET):
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def encode(claims):
    return base64.urlsafe_b64encode(json.dumps(claims).encode()).decode()


def decode(text):
    return json.loads(base64.urlsafe_b64decode(text.encode()))


@pytest.fixture
def server(make_tournament_server):
    return make_tournament_server()


@pytest.fixture
def client(server):
    return server.test_client()


@pytest.fixture
def snapshot(client, server, db_engine):
    """What a reader sees of the tournament, plus the number of events stored for it."""
    def take():
        with db_engine.connect() as conn:
            stored = conn.execute(sa.select(sa.func.count()).select_from(tournament_events).where(
                tournament_events.c.tournament_id == server.config["TOURNAMENT_ID"])).scalar()
        return {"state": expect(client.get("/api/state"), 200), "teams": expect(client.get(TEAMS), 200),
                "matches": expect(client.get("/api/matches"), 200), "stored": stored}
    return take


def register_team(client, server, name, user=ORGANIZER, roles=("organizer",)):
    return expect(client.post(TEAMS, json={"name": name}, headers=signed(server, "POST", TEAMS, user, roles)), 201)


def tampered_roles(server):
    headers = signed(server, "POST", TEAMS, VIEWER, ())
    claims = decode(headers[IDENTITY_HEADER])
    claims["roles"] = ["organizer"]
    return {IDENTITY_HEADER: encode(claims), SIGNATURE_HEADER: headers[SIGNATURE_HEADER]}


def readable_but_wrong(text):
    return {IDENTITY_HEADER: text, SIGNATURE_HEADER: mac(text)}


BAD_IDENTITIES = [
    pytest.param(lambda s: {}, id="none"),
    pytest.param(lambda s: {SIGNATURE_HEADER: signed(s, "POST", TEAMS)[SIGNATURE_HEADER]}, id="signature-only"),
    pytest.param(lambda s: {IDENTITY_HEADER: signed(s, "POST", TEAMS)[IDENTITY_HEADER]}, id="identity-only"),
    pytest.param(lambda s: {**signed(s, "POST", TEAMS), SIGNATURE_HEADER: "0" * 64}, id="forged-signature"),
    pytest.param(lambda s: {**signed(s, "POST", TEAMS), SIGNATURE_HEADER: ""}, id="empty-signature"),
    pytest.param(tampered_roles, id="claims-edited-after-signing"),
    pytest.param(lambda s: signed(s, "POST", TEAMS, secret="another-secret"), id="another-secret"),
    pytest.param(lambda s: signed(s, "POST", TEAMS, now=time.time() - 120), id="expired"),
    pytest.param(lambda s: signed(s, "POST", TEAMS, now=time.time() + 120), id="from-the-future"),
    pytest.param(lambda s: signed(s, "POST", TEAMS, tournament_id="t_another0"), id="another-tournament"),
    pytest.param(lambda s: signed(s, "POST", "/api/start"), id="another-path"),
    pytest.param(lambda s: signed(s, "PUT", TEAMS), id="another-method"),
    pytest.param(lambda s: readable_but_wrong("not base64 at all!"), id="garbage-identity"),
    pytest.param(lambda s: readable_but_wrong(encode([1, 2, 3])), id="claims-not-an-object"),
    pytest.param(lambda s: readable_but_wrong(encode({**decode(signed(s, "POST", TEAMS)[IDENTITY_HEADER]),
                                                      "iat": str(int(time.time()))})), id="iat-not-a-number"),
]


@pytest.mark.parametrize("make_headers", BAD_IDENTITIES)
def test_a_write_without_a_valid_identity_is_401_and_changes_nothing(server, client, snapshot, make_headers):
    register_team(client, server, "Existing")
    before = snapshot()
    response = client.post(TEAMS, json={"name": "Intruders"}, headers=make_headers(server))
    error_of(response, 401)
    assert snapshot() == before


def test_a_valid_identity_is_accepted_once_and_a_replay_is_401(server, client, snapshot):
    headers = signed(server, "POST", TEAMS)
    team = expect(client.post(TEAMS, json={"name": "First"}, headers=headers), 201)
    assert team["captain"] is None  # the organizer enters teams for others
    before = snapshot()
    error_of(client.post(TEAMS, json={"name": "First"}, headers=headers), 401)
    error_of(client.post(TEAMS, json={"name": "Second"}, headers=headers), 401)
    assert snapshot() == before
    # A fresh signature for the same request goes through.
    expect(client.post(TEAMS, json={"name": "Second"}, headers=signed(server, "POST", TEAMS)), 201)


def test_a_replay_is_refused_by_a_restarted_server_too(server, client):
    from tournament_service import create_app

    headers = signed(server, "POST", TEAMS)
    expect(client.post(TEAMS, json={"name": "Before Restart"}, headers=headers), 201)
    # The same tournament's server started again (same log, same Redis): its memory is empty.
    restarted = create_app(dict(server.config))
    try:
        error_of(restarted.test_client().post(TEAMS, json={"name": "After Restart"}, headers=headers), 401)
        assert [t["name"] for t in expect(restarted.test_client().get(TEAMS), 200)["items"]] == ["Before Restart"]
    finally:
        again = restarted.extensions["tournament_server"]
        again.publisher.close()
        again.log.engine.dispose()


def test_every_write_endpoint_refuses_an_unsigned_request(server, client, snapshot):
    alpha = register_team(client, server, "Alpha")
    register_team(client, server, "Bravo")
    before = snapshot()
    for method, path, body in [("POST", TEAMS, {"name": "Charlie"}), ("DELETE", f"{TEAMS}/{alpha['id']}", None),
                               ("POST", "/api/start", None), ("POST", "/api/cancel", None),
                               ("POST", "/api/archive", None),
                               ("POST", "/api/matches/r1_match_1/result", {"winner": alpha["id"]})]:
        error_of(client.open(path, method=method, json=body), 401)
        assert snapshot() == before, f"{method} {path} changed the tournament"
    started = expect(client.post("/api/start", headers=signed(server, "POST", "/api/start")), 200)
    assert started["state"] == "ACTIVE"
    before = snapshot()
    match = before["matches"]["items"][0]
    path = f"/api/matches/{match['id']}/result"
    error_of(client.post(path, json={"winner": match["team1_id"]}), 401)
    error_of(client.post(path, json={"winner": match["team1_id"]},
                         headers=signed(server, "POST", path, now=time.time() - 120)), 401)
    assert snapshot() == before
    expect(client.post(path, json={"winner": match["team1_id"]}, headers=signed(server, "POST", path)), 200)


def test_a_signed_identity_still_needs_the_right_role(server, client, snapshot):
    # Signed, but for nobody: writes need a user (401).
    error_of(client.post(TEAMS, json={"name": "Ghost"}, headers=signed(server, "POST", TEAMS, None, ())), 401)
    # Any user may register a team and becomes its captain; only the organizer starts.
    team = register_team(client, server, "Viewers", VIEWER, ())
    assert team["captain"] == VIEWER["id"]
    register_team(client, server, "Organizers")
    before = snapshot()
    error_of(client.post("/api/start", headers=signed(server, "POST", "/api/start", VIEWER, ())), 403)
    error_of(client.post("/api/start", headers=signed(server, "POST", "/api/start", None, ())), 401)
    assert snapshot() == before
    expect(client.post("/api/start", headers=signed(server, "POST", "/api/start")), 200)


@pytest.mark.parametrize("path", ["/api/state", TEAMS, "/api/matches", "/api/standings", "/api/bracket"])
def test_reads_need_no_identity(client, path):
    expect(client.get(path), 200)


# ---- end to end: a real orchestrator, its server's own port, and the gateway --------------------

def cancel(api, tournament_id):
    """Leave no served tournament behind for an orchestrator started later in the run."""
    response = api.post(f"/api/v1/tournaments/{tournament_id}/cancel")
    assert response.status_code in (200, 409), response.text[:300]


def test_a_servers_own_port_refuses_unsigned_writes_but_the_gateway_gets_through(start_orchestrator, database_url):
    orchestrator = start_orchestrator()
    api = orchestrator.api
    tournament = make_tournament(api, "REGISTRATION", teams=0, max_teams=8)
    tid = tournament["id"]
    try:
        pid, host, port = server_of(database_url, tid)
        # Not reachable from outside by default: the server listens on the loopback address only.
        assert host in ("127.0.0.1", "localhost"), host
        listening = [c.laddr for c in psutil.Process(pid).net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN]
        assert listening and all(addr.ip in ("127.0.0.1", "::1") for addr in listening), listening
        direct = f"http://{host}:{port}"
        ok(requests.get(f"{direct}/api/state", timeout=10))
        refused = [
            {},
            {"Authorization": api.session.headers["Authorization"]},  # the organizer's own token
            sign("guessed-secret", tid, "POST", TEAMS, {"id": api.user["id"], "username": "x"}, ["organizer"]),
            sign(GATEWAY_SECRET, tid, "POST", TEAMS, api.user, ["organizer"], now=time.time() - 120),
            sign(GATEWAY_SECRET, "t_another0", "POST", TEAMS, api.user, ["organizer"]),
            sign(GATEWAY_SECRET, tid, "POST", "/api/start", api.user, ["organizer"]),
        ]
        for headers in refused:
            response = requests.post(f"{direct}{TEAMS}", json={"name": "Direct"}, headers=headers, timeout=10)
            assert response.status_code == 401, (headers, response.status_code, response.text[:300])
        # One signature, used twice on the server's port: the second time is a replay.
        once = sign(GATEWAY_SECRET, tid, "POST", TEAMS, api.user, [])
        assert requests.post(f"{direct}{TEAMS}", json={"name": "Once"}, headers=once, timeout=10).status_code == 201
        replay = requests.post(f"{direct}{TEAMS}", json={"name": "Twice"}, headers=once, timeout=10)
        assert replay.status_code == 401, replay.text[:300]
        # The same write through the gateway: the orchestrator signs it for the logged-in caller.
        team = ok(api.post(f"/t/{tid}/api/teams", {"name": "Through the gateway"}), 201)
        assert team["captain"] is None  # signed as the organizer, who enters teams for others
        assert api.anonymous().post(f"/t/{tid}/api/teams", json={"name": "Anonymous"}).status_code == 401
        names = [t["name"] for t in ok(api.get(f"/t/{tid}/api/teams"))["items"]]
        assert names == ["Once", "Through the gateway"]
    finally:
        cancel(api, tid)


def test_a_client_cannot_impersonate_the_organizer_through_the_gateway(start_orchestrator, database_url):
    orchestrator = start_orchestrator()
    organizer = orchestrator.api
    viewer = organizer.as_user(unique("viewer"))
    tid = make_tournament(organizer, "REGISTRATION", teams=2, max_teams=4)["id"]
    try:
        teams = ok(organizer.get(f"/t/{tid}/api/teams"))["items"]
        as_organizer = {"id": organizer.user["id"], "username": organizer.user["username"]}

        def forged(method, path):
            # Even a correctly signed organizer identity is replaced by the gateway's own.
            return sign(GATEWAY_SECRET, tid, method, path, as_organizer, ["organizer", "admin"])

        response = viewer.post(f"/t/{tid}/api/start", headers=forged("POST", "/api/start"))
        assert response.status_code == 403, response.text[:300]
        response = viewer.delete(f"/t/{tid}/api/teams/{teams[0]['id']}",
                                 headers=forged("DELETE", f"/api/teams/{teams[0]['id']}"))
        assert response.status_code == 403, response.text[:300]
        response = organizer.anonymous().post(f"/t/{tid}/api/start", headers=forged("POST", "/api/start"))
        assert response.status_code == 401, response.text[:300]
        response = viewer.post(f"/t/{tid}/api/teams", json={"name": "Mine"},
                               headers=forged("POST", "/api/teams"))
        assert response.status_code == 201 and response.json()["captain"] == viewer.user["id"], response.text[:300]
        state = ok(organizer.get(f"/t/{tid}/api/state"))
        assert state["state"] == "REGISTRATION" and state["teams_count"] == 3
        # Control: the organizer does start it.
        assert ok(organizer.post(f"/t/{tid}/api/start"))["state"] == "ACTIVE"
    finally:
        cancel(organizer, tid)
