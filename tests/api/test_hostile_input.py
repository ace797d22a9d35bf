"""Hostile values, wherever they enter either app (bodies, paths, queries, headers), are a 400 in
the error envelope and change nothing: never a 500, a 503, or a row that poisons later reads.

The orchestrator runs in this process as a logged-in organizer (`bearer_client`); the tournament
server runs in this process too (`tournament_client`, writes signed as its organizer), as in the
other input tests.
"""
import json

import pytest
import sqlalchemy as sa

from shared.db.tables import announcements, api_tokens, notifications, subscriptions, tournament_events, tournaments
from tests.api.helpers import assert_error, deep_json, ok, send

BASE = "/api/v1/tournaments"

# Bodies no endpoint may take, whatever fields it expects: each breaks the strict parser's rules.
HOSTILE_BODIES = [
    pytest.param('{"name": NaN}', id="nan"),
    pytest.param('{"name": "A", "seed": Infinity}', id="infinity"),
    pytest.param('{"name": -Infinity}', id="minus-infinity"),
    pytest.param('{"name": 1e999}', id="float-overflowing-to-infinity"),
    pytest.param('{"name": 1' + "0" * 200 + "}", id="200-digit-integer"),
    pytest.param('{"name": "Team \\ud800"}', id="lone-high-surrogate"),
    pytest.param('{"name": "A", "players": ["\\udc00"]}', id="lone-low-surrogate-in-a-list"),
    pytest.param('{"\\ud83d": "A"}', id="lone-surrogate-in-a-name"),
    pytest.param('{"name": "A\\u0000B"}', id="nul"),
    pytest.param('{"name": "A", "name": "B"}', id="repeated-name"),
    pytest.param('{"name": "A", "x": ' + "[" * 12 + "]" * 12 + "}", id="nested-13-deep"),
    pytest.param(deep_json(), id="nested-20000-deep"),
    pytest.param('{"name": "A"}'.encode("utf-16"), id="utf-16"),
]


def assert_refused(response, fields):
    """A 400 naming `fields`; an event stream opened instead is closed unread, not waited on."""
    try:
        assert response.mimetype != "text/event-stream", "opened a stream instead of refusing"
        assert_error(response, 400, "invalid_input", fields)
    finally:
        response.close()


# ---- the orchestrator ---------------------------------------------------------------------------

@pytest.fixture
def registry_state(db_engine):
    """Everything the orchestrator's writes could change, straight from the database."""
    def take():
        with db_engine.connect() as conn:
            return {table.name: sorted(map(tuple, conn.execute(sa.select(table))), key=repr)
                    for table in (tournaments, subscriptions, api_tokens, tournament_events, announcements,
                                  notifications)}
    return take


@pytest.fixture
def draft(bearer_client):
    return ok(send(bearer_client, "POST", BASE, {"name": "Hostile Cup", "game": "chess"}), 201)


ORCHESTRATOR_WRITES = [
    ("POST", BASE), ("PATCH", BASE + "/{id}"), ("DELETE", BASE + "/{id}"), ("POST", BASE + "/{id}/publish"),
    ("POST", BASE + "/{id}/cancel"), ("POST", BASE + "/{id}/archive"), ("POST", BASE + "/{id}/teams"),
    ("POST", "/api/v1/subscriptions"), ("DELETE", "/api/v1/subscriptions/{id}"),
    ("POST", "/api/v1/servers/{id}/restart"), ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/logout"), ("DELETE", "/api/v1/auth/tokens/1"),
]


@pytest.mark.parametrize("method, path", ORCHESTRATOR_WRITES)
@pytest.mark.parametrize("raw", HOSTILE_BODIES)
def test_every_orchestrator_write_refuses_hostile_bodies(bearer_client, draft, registry_state, method, path, raw):
    before = registry_state()
    assert_error(send(bearer_client, method, path.format(id=draft["id"]), raw=raw), 400)
    assert registry_state() == before


BAD_DATES = [
    pytest.param("9999-12-31T23:59:59-01:00", id="year-10000-in-utc"),
    pytest.param("0001-01-01T00:00:00+01:00", id="year-0-in-utc"),
    pytest.param("1999-12-31T23:59:59Z", id="before-2000"),
    pytest.param("2100-01-01T00:00:00Z", id="from-2100"),
]


@pytest.mark.parametrize("starts_at", BAD_DATES)
def test_dates_out_of_range_are_refused_before_anything_is_written(bearer_client, draft, registry_state,
                                                                     starts_at):
    before = registry_state()
    for method, path in (("POST", BASE), ("PATCH", f"{BASE}/{draft['id']}")):
        body = {"starts_at": starts_at} if method == "PATCH" else {"name": "Cup", "game": "chess",
                                                                    "starts_at": starts_at}
        error = assert_error(send(bearer_client, method, path, body), 400, "invalid_input", ["starts_at"])
        assert "2000" in error["fields"]["starts_at"] and "2100" in error["fields"]["starts_at"]
    assert registry_state() == before
    # The list every visitor reads still answers.
    ok(bearer_client.get(BASE, query_string={"limit": 100}))


@pytest.mark.parametrize("starts_at, stored", [
    ("2000-01-01T00:00:00Z", "2000-01-01T00:00:00Z"),
    ("2099-12-31T23:00:00-00:59", "2099-12-31T23:59:00Z"),
    ("2030-06-01T12:00:00+02:00", "2030-06-01T10:00:00Z"),
])
def test_dates_in_range_are_stored_in_utc(bearer_client, starts_at, stored):
    """Control for the refusals above."""
    created = ok(send(bearer_client, "POST", BASE, {"name": "Cup", "game": "chess", "starts_at": starts_at}), 201)
    assert created["starts_at"] == stored
    assert ok(bearer_client.get(f"{BASE}/{created['id']}"))["starts_at"] == stored


ODD_IDS = [
    pytest.param("t_%00", id="nul"),
    pytest.param("t_%ED%A0%80", id="encoded-surrogate"),
    pytest.param("%FF", id="not-utf8"),
    pytest.param("t%20x", id="space"),
    pytest.param("t_" + "x" * 40, id="42-chars"),
    pytest.param("..", id="dot-dot"),
    pytest.param("t_%C3%A9", id="non-ascii"),
]
ORCHESTRATOR_ID_PATHS = [
    ("GET", BASE + "/{id}"), ("PATCH", BASE + "/{id}"), ("DELETE", BASE + "/{id}"),
    ("POST", BASE + "/{id}/publish"), ("POST", BASE + "/{id}/cancel"), ("GET", BASE + "/{id}/teams"),
    ("POST", BASE + "/{id}/teams"), ("DELETE", "/api/v1/subscriptions/{id}"),
    ("POST", "/api/v1/servers/{id}/restart"), ("GET", "/api/v1/events/tournaments/{id}"),
    ("GET", "/t/{id}/api/state"), ("POST", "/t/{id}/api/teams"),
]


@pytest.mark.parametrize("method, path", ORCHESTRATOR_ID_PATHS)
@pytest.mark.parametrize("odd_id", ODD_IDS)
def test_odd_ids_in_orchestrator_paths_are_400_before_any_lookup(bearer_client, registry_state, method, path,
                                                                 odd_id):
    before = registry_state()
    response = send(bearer_client, method, path.format(id=odd_id), {"name": "Team"} if method != "GET" else None,
                    buffered=False)
    assert_refused(response, ["tournament_id"])
    assert registry_state() == before


@pytest.mark.parametrize("rest", ["api/teams/%00", "api/teams/t%20x/check-in", "api/%2E%2E/state",
                                  "api/matches/r1%E2%80%AE/result", "api/state%09", "api/state%7F"])
def test_odd_paths_through_the_gateway_are_400_before_the_lookup(bearer_client, draft, rest):
    for method in ("GET", "POST", "DELETE"):
        assert_error(bearer_client.open(f"/t/{draft['id']}/{rest}", method=method), 400, "invalid_input", ["path"])


@pytest.mark.parametrize("cursor", [
    pytest.param(json.dumps(["9999-12-31T23:59:59-01:00", "t_x"]), id="year-10000"),
    pytest.param(json.dumps(["2025-01-01T00:00:00+00:00", "t_\u0000"]), id="nul-id"),
    pytest.param(json.dumps(["2025-01-01T00:00:00+00:00", 5]), id="int-id"),
    pytest.param(json.dumps(["2025-01-01T00:00:00+00:00", "t_x", "extra"]), id="three-parts"),
])
def test_forged_cursors_are_400(bearer_client, cursor):
    import base64

    encoded = base64.urlsafe_b64encode(cursor.encode()).decode().rstrip("=")
    assert_error(bearer_client.get(BASE, query_string={"cursor": encoded}), 400, "invalid_input", ["cursor"])


ODD_EVENT_IDS = [
    pytest.param("\u0661\u0662", id="arabic-indic-digits"),  # int() takes them
    pytest.param(" 5", id="leading-space"),
    pytest.param("+5", id="plus-sign"),
    pytest.param("5_000", id="underscore"),  # int() takes it
    pytest.param("9" * 19, id="19-digits"),
]


@pytest.mark.parametrize("value", ODD_EVENT_IDS)
@pytest.mark.parametrize("path", ["/api/v1/events/global", "/api/v1/events/tournaments/{id}"])
def test_odd_last_event_ids_are_400_on_the_orchestrator_feeds(bearer_client, draft, path, value):
    for where in ("header", "query"):
        response = bearer_client.get(path.format(id=draft["id"]), buffered=False,
                                     headers={"Last-Event-ID": value} if where == "header" else None,
                                     query_string={"last_event_id": value} if where == "query" else None)
        assert_refused(response, ["Last-Event-ID"])


# ---- the tournament server ----------------------------------------------------------------------

SERVER_WRITES = [
    ("POST", "/api/teams"), ("DELETE", "/api/teams/team_1"), ("POST", "/api/teams/team_1/check-in"),
    ("POST", "/api/teams/team_1/disqualify"), ("POST", "/api/teams/team_1/drop"), ("POST", "/api/start"),
    ("POST", "/api/matches/r1_match_1/result"), ("POST", "/api/matches/r1_match_1/abandon"),
    ("POST", "/api/cancel"), ("POST", "/api/archive"),
]


@pytest.mark.parametrize("method, path", SERVER_WRITES)
@pytest.mark.parametrize("raw", HOSTILE_BODIES)
def test_every_server_write_refuses_hostile_bodies(tournament_client, refused, method, path, raw):
    for name in ("Alpha", "Bravo"):
        ok(send(tournament_client, "POST", "/api/teams", {"name": name}), 201)
    refused(method, path, 400, raw=raw)


@pytest.mark.parametrize("method, path", [
    ("DELETE", "/api/teams/{id}"), ("POST", "/api/teams/{id}/check-in"), ("POST", "/api/teams/{id}/disqualify"),
    ("POST", "/api/teams/{id}/drop"), ("POST", "/api/matches/{id}/result"), ("POST", "/api/matches/{id}/abandon"),
])
@pytest.mark.parametrize("odd_id", ODD_IDS)
def test_odd_ids_in_server_paths_are_400(tournament_client, refused, method, path, odd_id):
    error = refused(method, path.format(id=odd_id), 400, body={"winner": "team_1"} if "result" in path else None,
                    code="invalid_input")
    assert set(error["fields"]) <= {"team_id", "match_id"} and error["fields"]


@pytest.mark.parametrize("value", ODD_EVENT_IDS)
def test_odd_last_event_ids_are_400_on_the_server_feed(tournament_client, value):
    response = tournament_client.get("/api/events", headers={"Last-Event-ID": value}, buffered=False)
    assert_refused(response, ["Last-Event-ID"])


# ---- headers read as tokens ---------------------------------------------------------------------

@pytest.mark.parametrize("header", ["X-CSRF-Token", "Authorization"])
def test_non_ascii_credentials_are_400_on_the_orchestrator(cookie_client, registry_state, header):
    before = registry_state()
    response = send(cookie_client, "POST", BASE, {"name": "Cup", "game": "chess"}, headers={header: "\xe9t\xe9"})
    assert_error(response, 400, "invalid_input", [header])
    assert registry_state() == before


@pytest.mark.parametrize("header", ["X-Platform-Identity", "X-Platform-Signature"])
def test_non_ascii_identity_headers_are_400_on_the_server(tournament_client, refused, header):
    refused("POST", "/api/start", 400, headers={header: "\xe9"}, code="invalid_input", fields=[header])
