"""Helpers for the account, CSRF, header, identity and authorization tests."""
import json
import uuid
from shared.identity import sign
from tests.conftest import GATEWAY_SECRET

PASSWORD = "correct horse battery"
ORGANIZER = {"id": 1, "username": "org"}
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def send(client, method, path, body=None, headers=None, **kw):
    """A Flask test client request with a JSON body."""
    if body is None:
        return client.open(path, method=method, headers=headers, **kw)
    return client.open(path, method=method, data=json.dumps(body), content_type="application/json",
                       headers=headers, **kw)


def expect(response, status):
    """The JSON body of a Flask test response that must have `status`."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {text[:800]}"
    return response.get_json() if text else None


def error_of(response, status, code=None):
    """The `error` object of a JSON error envelope with `status` (Flask test response)."""
    body = expect(response, status)
    assert response.mimetype == "application/json", response.mimetype
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str), error
    if code is not None:
        assert error["code"] == code, error
    return error


def register(client, username, password=PASSWORD):
    return expect(send(client, "POST", "/api/v1/auth/register", {"username": username, "password": password}), 201)


def login(client, username, password=PASSWORD):
    return expect(send(client, "POST", "/api/v1/auth/login", {"username": username, "password": password}), 200)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def assert_security_headers(headers, where):
    """The security headers every response carries (`headers`: any case-insensitive mapping)."""
    for name in SECURITY_HEADERS:
        assert headers.get(name), f"{where}: no {name} header in {dict(headers)}"
    assert headers["X-Content-Type-Options"].lower() == "nosniff", where
    csp = headers["Content-Security-Policy"]
    frame_options = headers.get("X-Frame-Options", "")
    assert frame_options.upper() in ("DENY", "SAMEORIGIN") or "frame-ancestors" in csp, \
        f"{where}: neither X-Frame-Options nor frame-ancestors: {dict(headers)}"
    assert headers["Referrer-Policy"].lower() in (
        "no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin",
        "no-referrer-when-downgrade", "origin", "origin-when-cross-origin"), where


def assert_single_security_headers(headers, where):
    """Each security header occurs once (`headers`: werkzeug Headers or urllib3 HTTPHeaderDict)."""
    for name in (*SECURITY_HEADERS, "X-Frame-Options"):
        assert len(headers.getlist(name)) <= 1, f"{where}: {name} repeated: {headers.getlist(name)}"


def signed(app, method, path, user=ORGANIZER, roles=("organizer",), secret=GATEWAY_SECRET, tournament_id=None,
           now=None):
    """Identity headers as the gateway signs them, for `app`'s tournament (unless told another)."""
    return sign(secret, tournament_id or app.config["TOURNAMENT_ID"], method, path, user, roles, now=now)
