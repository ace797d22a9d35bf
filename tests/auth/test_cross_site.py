"""No write can be driven from another site: a body must be application/json (a cross-site form can
only send form encodings or text/plain, whose body may still be valid JSON), and a browser's write
from another site (Sec-Fetch-Site, else Origin) is refused. Login and register carry no CSRF token,
so this is their protection; it holds for every write, the gateway's included.
"""
import json

import pytest
import sqlalchemy as sa

from shared.db.tables import users
from tests.auth.helpers import PASSWORD, bearer, error_of, expect, login, register, send, unique

LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"


def count_users(db_engine, username):
    with db_engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(users)
                            .where(users.c.username_key == username.lower())).scalar()


def raw_post(client, path, body, content_type, headers=None):
    """A POST whose body is JSON text, sent with whatever Content-Type a form could use."""
    return client.post(path, data=json.dumps(body), headers={"Content-Type": content_type, **(headers or {})})


FORM_TYPES = [
    pytest.param("text/plain", id="text-plain"),
    pytest.param("text/plain;charset=UTF-8", id="text-plain-charset"),
    pytest.param("application/x-www-form-urlencoded", id="urlencoded"),
    pytest.param("multipart/form-data; boundary=x", id="multipart"),
]


@pytest.mark.parametrize("content_type", FORM_TYPES)
def test_a_form_posted_login_is_415_and_logs_nobody_in(app, client, content_type):
    name = unique("formlogin")
    register(client, name)
    browser = app.test_client()
    response = raw_post(browser, LOGIN, {"username": name, "password": PASSWORD}, content_type)
    error_of(response, 415, "unsupported_media_type")
    assert "Set-Cookie" not in response.headers
    error_of(browser.get("/api/v1/auth/me"), 401)


@pytest.mark.parametrize("content_type", FORM_TYPES)
def test_a_form_posted_register_is_415_and_creates_nobody(app, db_engine, content_type):
    name = unique("formreg")
    error_of(raw_post(app.test_client(), REGISTER, {"username": name, "password": PASSWORD}, content_type), 415)
    assert count_users(db_engine, name) == 0


def test_a_json_body_without_any_content_type_is_415(app):
    response = app.test_client().post(REGISTER, data=json.dumps({"username": unique("bare"), "password": PASSWORD}))
    error_of(response, 415, "unsupported_media_type")


def test_json_with_a_charset_is_taken(app):
    name = unique("charset")
    expect(raw_post(app.test_client(), REGISTER, {"username": name, "password": PASSWORD},
                    "application/json; charset=utf-8"), 201)


@pytest.mark.parametrize("headers", [
    pytest.param({"Sec-Fetch-Site": "cross-site"}, id="sec-fetch-cross-site"),
    pytest.param({"Sec-Fetch-Site": "same-site"}, id="sec-fetch-same-site"),
    pytest.param({"Origin": "https://evil.example"}, id="foreign-origin"),
    pytest.param({"Origin": "null"}, id="null-origin"),
])
def test_a_browsers_cross_site_login_or_register_is_403(app, client, db_engine, headers):
    name = unique("xsite")
    register(client, name)
    browser = app.test_client()
    response = send(browser, "POST", LOGIN, {"username": name, "password": PASSWORD}, headers=headers)
    error_of(response, 403, "cross_site_request")
    error_of(browser.get("/api/v1/auth/me"), 401)
    other = unique("xsite")
    error_of(send(browser, "POST", REGISTER, {"username": other, "password": PASSWORD}, headers=headers), 403)
    assert count_users(db_engine, other) == 0


@pytest.mark.parametrize("headers", [
    pytest.param({"Sec-Fetch-Site": "same-origin"}, id="sec-fetch-same-origin"),
    pytest.param({"Sec-Fetch-Site": "none"}, id="sec-fetch-user-initiated"),
    pytest.param({"Origin": "http://localhost"}, id="own-origin"),
])
def test_a_same_origin_login_goes_through(app, client, headers):
    name = unique("sameorigin")
    register(client, name)
    expect(send(app.test_client(), "POST", LOGIN, {"username": name, "password": PASSWORD}, headers=headers), 200)


def test_every_write_wants_json(app, client):
    """Registry, subscriptions, tokens and the gateway alike: a text/plain body is 415 and changes nothing."""
    name = unique("writes")
    register(client, name)
    body = login(client, name)
    token = bearer(body["token"])
    tournament = expect(send(app.test_client(), "POST", "/api/v1/tournaments", {"name": "Cup", "game": "go"},
                             headers=token), 201)
    tid = tournament["id"]
    for method, path, payload in [("POST", "/api/v1/tournaments", {"name": "Cup", "game": "go"}),
                                  ("PATCH", f"/api/v1/tournaments/{tid}", {"name": "Hijacked"}),
                                  ("POST", "/api/v1/subscriptions", {"tournament_id": tid}),
                                  ("POST", f"/api/v1/tournaments/{tid}/teams", {"name": "Forged"}),
                                  ("POST", f"/t/{tid}/api/teams", {"name": "Forged"}),
                                  ("POST", "/api/v1/auth/logout", {"everywhere": True})]:
        response = app.test_client().open(path, method=method, data=json.dumps(payload),
                                          headers={**token, "Content-Type": "text/plain"})
        error_of(response, 415, "unsupported_media_type")
    assert expect(app.test_client().get(f"/api/v1/tournaments/{tid}", headers=token), 200) == tournament
    assert expect(app.test_client().get("/api/v1/subscriptions", headers=token), 200)["items"] == []
    expect(app.test_client().get("/api/v1/auth/me", headers=token), 200)


def test_a_cross_site_cookie_write_is_refused_even_with_the_csrf_token(app, client):
    name = unique("xsite-cookie")
    register(client, name)
    browser = app.test_client()
    body = login(browser, name)
    headers = {"X-CSRF-Token": body["csrf_token"], "Sec-Fetch-Site": "cross-site"}
    error_of(send(browser, "POST", "/api/v1/tournaments", {"name": "Cup", "game": "go"}, headers=headers), 403,
             "cross_site_request")
    # A body-less write (publish, logout) from another site is refused too.
    error_of(send(browser, "POST", "/api/v1/auth/logout", headers=headers), 403, "cross_site_request")
    expect(browser.get("/api/v1/auth/me"), 200)
