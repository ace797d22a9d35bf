"""CSRF: a cookie-authenticated write needs the session's X-CSRF-Token header; a Bearer one does not.

The orchestrator runs in this process (`app`, tests/conftest.py); its test clients keep cookies as a
browser does.
"""
import pytest

from tests.auth.helpers import bearer, error_of, expect, login, register, send, unique

BASE = "/api/v1/tournaments"


@pytest.fixture(scope="module")
def account():
    """One account for the module, registered by the first test that needs it."""
    return {"username": unique("csrf"), "registered": False}


@pytest.fixture
def session(app, account):
    """A test client logged in with the session cookie, and the login's answer."""
    client = app.test_client()
    if not account["registered"]:
        register(client, account["username"])
        account["registered"] = True
    body = login(client, account["username"])
    assert client.get_cookie("session") is not None
    return client, body


def by_game(client, game, headers=None):
    return expect(client.get(BASE, query_string={"game": game, "limit": 100}, headers=headers), 200)["items"]


def new_tournament(game):
    return {"name": "CSRF Cup", "game": game}


def test_a_cookie_write_without_the_csrf_header_is_403_and_creates_nothing(session):
    client, _body = session
    game = unique("game")
    error_of(send(client, "POST", BASE, new_tournament(game)), 403, "csrf_failed")
    assert by_game(client, game) == []


@pytest.mark.parametrize("token", [
    pytest.param("wrong-token", id="wrong"),
    pytest.param("", id="empty"),
    pytest.param(None, id="other-sessions-token"),
])
def test_a_cookie_write_with_a_wrong_csrf_token_is_403(app, account, session, token):
    client, body = session
    if token is None:
        # A token that is valid, but for another session of the same user.
        token = login(app.test_client(), account["username"])["csrf_token"]
        assert token != body["csrf_token"]
    game = unique("game")
    error_of(send(client, "POST", BASE, new_tournament(game), headers={"X-CSRF-Token": token}), 403, "csrf_failed")
    assert by_game(client, game) == []


def test_a_cookie_write_with_the_sessions_csrf_token_succeeds(session):
    client, body = session
    game = unique("game")
    created = expect(send(client, "POST", BASE, new_tournament(game), headers={"X-CSRF-Token": body["csrf_token"]}),
                     201)
    assert [t["id"] for t in by_game(client, game)] == [created["id"]]
    assert created["organizer"] == body["user"]["id"]
    # /me hands out the same token, for a page that was loaded after login.
    assert expect(client.get("/api/v1/auth/me"), 200)["csrf_token"] == body["csrf_token"]


def test_a_bearer_write_needs_no_csrf_token(app, session):
    _client, body = session
    api = app.test_client()  # no cookie at all
    game = unique("game")
    created = expect(send(api, "POST", BASE, new_tournament(game), headers=bearer(body["token"])), 201)
    assert created["organizer"] == body["user"]["id"]
    # A draft is listed for its organizer only.
    assert [t["id"] for t in by_game(api, game, bearer(body["token"]))] == [created["id"]]


def test_every_kind_of_cookie_write_is_protected(session):
    """PATCH, DELETE, the lifecycle commands and logout refuse a cookie write without the token."""
    client, body = session
    good = {"X-CSRF-Token": body["csrf_token"]}
    tournament = expect(send(client, "POST", BASE, new_tournament(unique("game")), headers=good), 201)
    tid = tournament["id"]
    for method, path, payload in [("PATCH", f"{BASE}/{tid}", {"name": "Hijacked"}),
                                  ("DELETE", f"{BASE}/{tid}", None),
                                  ("POST", f"{BASE}/{tid}/publish", None),
                                  ("POST", f"{BASE}/{tid}/cancel", None),
                                  ("POST", "/api/v1/auth/logout", None),
                                  ("POST", "/api/v1/subscriptions", {"tournament_id": tid}),
                                  ("DELETE", f"/api/v1/auth/tokens/{body['token_id']}", None)]:
        error_of(send(client, method, path, payload), 403, "csrf_failed")
        assert expect(client.get(f"{BASE}/{tid}"), 200) == tournament, f"{method} {path} changed it"
    # Still logged in (logout was refused), the token still works (revoke was refused).
    expect(client.get("/api/v1/auth/me"), 200)
    listed = {t["id"]: t for t in expect(client.get("/api/v1/auth/tokens"), 200)["items"]}
    assert listed[body["token_id"]]["revoked"] is False
    # The same writes with the token go through.
    assert expect(send(client, "PATCH", f"{BASE}/{tid}", {"name": "Renamed"}, headers=good), 200)["name"] == "Renamed"
    expect(send(client, "DELETE", f"{BASE}/{tid}", headers=good), 204)


def test_a_cookie_write_through_the_gateway_needs_the_csrf_token_too(session):
    """The gateway belongs to the orchestrator: a forged cross-site POST registers no team."""
    client, body = session
    good = {"X-CSRF-Token": body["csrf_token"]}
    tid = expect(send(client, "POST", BASE, {**new_tournament(unique("game")), "max_teams": 4}, headers=good), 201)["id"]
    expect(send(client, "POST", f"{BASE}/{tid}/publish", headers=good), 200)
    try:
        error_of(send(client, "POST", f"/t/{tid}/api/teams", {"name": "Forged"}), 403, "csrf_failed")
        error_of(send(client, "POST", f"{BASE}/{tid}/teams", {"name": "Forged"}), 403, "csrf_failed")
        assert expect(client.get(f"/t/{tid}/api/teams"), 200)["items"] == []
        team = expect(send(client, "POST", f"/t/{tid}/api/teams", {"name": "Real", "captain": body["user"]["id"]},
                           headers=good), 201)
        assert team["captain"] == body["user"]["id"]
    finally:
        expect(send(client, "POST", f"{BASE}/{tid}/cancel", headers=good), 200)


def test_login_and_register_need_no_csrf_token(app):
    """There is no session to protect yet: a fresh browser can register and log in."""
    client = app.test_client()
    name = unique("fresh")
    register(client, name)
    login(client, name)
    # ... and logging in again over an existing session works too.
    login(client, name)
