"""A login is one session, whether its cookie or its token carries it: logout, revoking its token or
its expiry end both; "log out everywhere" ends every login. A Bearer header wins over a cookie.

The orchestrator runs in this process (`app`, tests/conftest.py); test clients keep cookies as a
browser does, and a "copied" cookie is the same value set on another client.
"""
import sqlalchemy as sa
from datetime import datetime, timedelta, timezone

from shared.db.tables import api_tokens
from tests.auth.helpers import bearer, error_of, expect, login, register, send, unique

ME = "/api/v1/auth/me"
LOGOUT = "/api/v1/auth/logout"
TOKENS = "/api/v1/auth/tokens"


def logged_in(app, username):
    """A browser-like client logged in as `username`, and the login's answer."""
    client = app.test_client()
    return client, login(client, username)


def copy_of_cookie(app, client):
    """Another client carrying the same session cookie (a stolen or copied cookie)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def csrf(body):
    return {"X-CSRF-Token": body["csrf_token"]}


def test_logout_ends_the_session_for_a_copied_cookie_too(app, client):
    name = unique("copied")
    register(client, name)
    browser, body = logged_in(app, name)
    thief = copy_of_cookie(app, browser)
    assert expect(thief.get(ME), 200)["user"]["username"] == name
    expect(send(browser, "POST", LOGOUT, headers=csrf(body)), 204)
    error_of(thief.get(ME), 401)
    error_of(browser.get(ME), 401)
    # The login's token ended with it: it was the same login.
    error_of(app.test_client().get(ME, headers=bearer(body["token"])), 401)


def test_logout_ends_that_login_only(app, client):
    name = unique("one-of-two")
    register(client, name)
    laptop, laptop_login = logged_in(app, name)
    phone, phone_login = logged_in(app, name)
    expect(send(laptop, "POST", LOGOUT, headers=csrf(laptop_login)), 204)
    error_of(laptop.get(ME), 401)
    assert expect(phone.get(ME), 200)["user"]["username"] == name
    expect(app.test_client().get(ME, headers=bearer(phone_login["token"])), 200)


def test_revoking_the_token_of_a_login_ends_its_cookie_session(app, client):
    name = unique("revoked")
    register(client, name)
    browser, browser_login = logged_in(app, name)
    thief = copy_of_cookie(app, browser)
    api_login = login(app.test_client(), name)
    expect(app.test_client().delete(f"{TOKENS}/{browser_login['token_id']}", headers=bearer(api_login["token"])), 204)
    error_of(browser.get(ME), 401)
    error_of(thief.get(ME), 401)
    expect(app.test_client().get(ME, headers=bearer(api_login["token"])), 200)


def test_a_session_ends_when_its_login_expires(app, client, db_engine):
    name = unique("expiring")
    register(client, name)
    browser, body = logged_in(app, name)
    expect(browser.get(ME), 200)
    with db_engine.begin() as conn:
        conn.execute(sa.update(api_tokens).where(api_tokens.c.id == body["token_id"])
                     .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    error_of(browser.get(ME), 401)


def test_logout_everywhere_ends_every_session_and_token(app, client):
    name, neighbour = unique("everywhere"), unique("neighbour")
    register(client, name)
    register(client, neighbour)
    browser, _browser_login = logged_in(app, name)
    other_browser, other_login = logged_in(app, name)
    api_login = login(app.test_client(), name)
    theirs, their_login = logged_in(app, neighbour)
    expect(send(app.test_client(), "POST", LOGOUT, {"everywhere": True}, headers=bearer(api_login["token"])), 204)
    for where in (browser, other_browser):
        error_of(where.get(ME), 401)
    for token in (api_login["token"], other_login["token"]):
        error_of(app.test_client().get(ME, headers=bearer(token)), 401)
    # Someone else's logins are untouched.
    expect(theirs.get(ME), 200)
    expect(app.test_client().get(ME, headers=bearer(their_login["token"])), 200)


def test_logout_refuses_an_unknown_option(app, client):
    name = unique("logout-body")
    register(client, name)
    body = login(app.test_client(), name)
    error = error_of(send(app.test_client(), "POST", LOGOUT, {"everywhere": "yes"}, headers=bearer(body["token"])), 400)
    assert "everywhere" in error["fields"]
    expect(app.test_client().get(ME, headers=bearer(body["token"])), 200)


def test_a_bearer_request_is_that_tokens_user_even_with_a_stale_cookie(app, client):
    cookie_user, token_user = unique("cookie-user"), unique("token-user")
    register(client, cookie_user)
    register(client, token_user)
    browser, _cookie_login = logged_in(app, cookie_user)
    token = login(app.test_client(), token_user)["token"]
    # No CSRF header: a Bearer write needs none, whatever cookie rides along.
    created = send(browser, "POST", "/api/v1/tournaments", {"name": "Bearer Cup", "game": "go"},
                   headers=bearer(token))
    assert expect(created, 201)["organizer"] == expect(browser.get(ME, headers=bearer(token)), 200)["user"]["id"]
    assert "Set-Cookie" not in created.headers
    # The cookie still stands for its own user when no Bearer header is sent.
    assert expect(browser.get(ME), 200)["user"]["username"] == cookie_user


def test_a_wrong_bearer_token_is_401_even_with_a_valid_cookie(app, client):
    name = unique("wrong-bearer")
    register(client, name)
    browser, _body = logged_in(app, name)
    error_of(browser.get(ME, headers=bearer("not-a-real-token")), 401)
    error_of(send(browser, "POST", "/api/v1/tournaments", {"name": "X", "game": "go"},
                  headers=bearer("not-a-real-token")), 401)
