"""Security headers on every response of both services, and the session cookie's flags."""
from tests.auth.helpers import (assert_security_headers, assert_single_security_headers, bearer, expect, login,
                                register, send, signed, unique)

BASE = "/api/v1/tournaments"


def check(response, where, status=None):
    if status is not None:
        assert response.status_code == status, f"{where}: {response.status_code} {response.get_data(as_text=True)[:300]}"
    assert_security_headers(response.headers, where)
    assert_single_security_headers(response.headers, where)


def open_stream(client, path, headers=None):
    response = client.get(path, buffered=False, headers=headers)
    try:
        assert response.status_code == 200, f"{path}: {response.status_code}"
        assert response.mimetype == "text/event-stream", response.mimetype
        return response
    finally:
        response.close()


def test_orchestrator_json_and_error_responses_carry_the_security_headers(client):
    check(client.get(BASE), "GET list", 200)
    check(client.get("/healthz"), "healthz", 200)
    check(client.get("/api/v1/nowhere"), "404", 404)
    check(client.put(BASE), "405", 405)
    check(client.post(BASE, json={"name": "x", "game": "y"}), "401 anonymous write", 401)
    check(client.get("/api/v1/auth/me"), "401 me", 401)
    check(send(client, "POST", "/api/v1/auth/login", {"username": unique("x"), "password": "wrong password"}),
          "401 login", 401)
    check(send(client, "POST", "/api/v1/auth/register", {"username": "x"}), "400 register", 400)
    check(client.get(f"{BASE}/t_nosuchthing"), "404 tournament", 404)


def test_orchestrator_sse_and_gateway_responses_carry_the_security_headers(app, client):
    name = unique("headers")
    register(client, name)
    token = login(client, name)["token"]
    api = app.test_client()
    auth = bearer(token)
    check(open_stream(api, "/api/v1/events/global"), "global feed")
    tid = expect(send(api, "POST", BASE, {"name": "Header Cup", "game": "go", "max_teams": 4}, headers=auth), 201)["id"]
    # A draft is its organizer's to read.
    check(open_stream(api, f"/api/v1/events/tournaments/{tid}", auth), "tournament feed")
    check(api.get(f"/t/{tid}/api/state", headers=auth), "gateway 409 (draft: no server yet)", 409)
    check(api.get(f"/t/{tid}/api/state"), "gateway 404 (someone else's draft)", 404)
    expect(send(api, "POST", f"{BASE}/{tid}/publish", headers=auth), 200)
    try:
        check(api.get(f"/t/{tid}/api/state"), "gateway JSON", 200)
        check(send(api, "POST", f"/t/{tid}/api/teams", {"name": "Alpha"}, headers=auth), "gateway 201", 201)
        check(send(api, "POST", f"/t/{tid}/api/teams", {"name": ""}, headers=auth), "gateway 400", 400)
        check(api.post(f"/t/{tid}/api/start"), "gateway 401", 401)
        check(api.get(f"/t/{tid}/api/nowhere"), "gateway 404", 404)
        check(open_stream(api, f"/t/{tid}/api/events"), "gateway SSE")
    finally:
        expect(send(api, "POST", f"{BASE}/{tid}/cancel", headers=auth), 200)
    check(api.get(f"/t/{tid}/api/teams"), "gateway read-only view of a cancelled tournament", 200)
    check(api.post(f"/t/{tid}/api/teams", headers=auth), "gateway 409 read-only", 409)


def test_tournament_server_responses_carry_the_security_headers(make_tournament_server):
    app = make_tournament_server()
    client = app.test_client()
    check(client.get("/api/state"), "server JSON", 200)
    check(client.get("/api/nowhere"), "server 404", 404)
    check(client.post("/api/teams", json={"name": "Alpha"}), "server 401 unsigned", 401)
    check(client.post("/api/teams", json={"name": "Alpha"}, headers=signed(app, "POST", "/api/teams")),
          "server 201", 201)
    check(client.post("/api/teams", json={"name": ""}, headers=signed(app, "POST", "/api/teams")), "server 400", 400)
    check(open_stream(client, "/api/events"), "server SSE")


def session_cookie(response):
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return [part.strip().lower() for part in cookies[0].split(";")]


def test_the_session_cookie_is_httponly_and_samesite_lax(client):
    name = unique("cookie")
    register(client, name)
    flags = session_cookie(send(client, "POST", "/api/v1/auth/login", {"username": name,
                                                                       "password": "correct horse battery"}))
    assert "httponly" in flags, flags
    assert "samesite=lax" in flags, flags
    assert "secure" not in flags, flags  # SESSION_COOKIE_SECURE is off by default (plain-HTTP local runs)


def test_the_session_cookie_is_secure_when_configured(make_app, client):
    name = unique("secure")
    register(client, name)
    secure = make_app(SESSION_COOKIE_SECURE=True).test_client()
    flags = session_cookie(send(secure, "POST", "/api/v1/auth/login", {"username": name,
                                                                       "password": "correct horse battery"}))
    assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags, flags
