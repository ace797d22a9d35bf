"""Shared by the API input tests: the error envelope, "nothing changed", and who is calling."""
import json
from urllib.parse import unquote, urlsplit

from flask.testing import FlaskClient

from shared.identity import sign
from tests.conftest import GATEWAY_SECRET

ENVELOPE_KEYS = {"code", "message", "fields"}


def send(client, method, path, body=None, raw=None, headers=None, **kw):
    """A request with a JSON `body`, or `raw` bytes/str sent as-is with a JSON content type."""
    if raw is not None:
        return client.open(path, method=method, data=raw, content_type="application/json",
                           headers=headers, **kw)
    if body is not None:
        return client.open(path, method=method, data=json.dumps(body), content_type="application/json",
                           headers=headers, **kw)
    return client.open(path, method=method, headers=headers, **kw)


def assert_error(response, status, code=None, fields=(), message=None):
    """`response` is the JSON error envelope with `status`; returns the `error` object.

    `fields` names the keys that must appear in error.fields; `message` is compared exactly.
    """
    text = response.get_data(as_text=True)
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {text[:800]}"
    assert response.mimetype == "application/json", f"not JSON ({response.mimetype}): {text[:300]}"
    assert "Traceback" not in text and "<html" not in text.lower() and "<!doctype" not in text.lower()
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) <= ENVELOPE_KEYS and {"code", "message"} <= set(error), error
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str) and error["message"], error
    if "fields" in error:
        assert isinstance(error["fields"], dict) and error["fields"], error
        assert all(isinstance(why, str) and why for why in error["fields"].values()), error
    if code is not None:
        assert error["code"] == code, error
    if fields:
        assert set(fields) <= set(error.get("fields") or {}), f"expected fields {set(fields)} in {error}"
    if message is not None:
        assert error["message"] == message, error
    return error


def ok(response, status=200):
    text = response.get_data(as_text=True)
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {text[:800]}"
    return response.get_json() if text else None


def deep_json(depth=20_000):
    """A syntactically valid JSON array nested `depth` deep (under the 64 KiB body limit)."""
    return "[" * depth + "]" * depth


# ---- who is calling -----------------------------------------------------------------------------

PASSWORD = "correct horse battery"


def register(client, username, password=PASSWORD):
    """Create the account through the orchestrator's API; returns the new user."""
    return ok(send(client, "POST", "/api/v1/auth/register", {"username": username, "password": password}), 201)


def login(client, username, password=PASSWORD):
    """Log in through the orchestrator's API: the body has user, token, token_id and csrf_token.

    The test client keeps the session cookie this sets.
    """
    return ok(send(client, "POST", "/api/v1/auth/login", {"username": username, "password": password}))


def use_bearer(client, token):
    """From now on `client` sends `Authorization: Bearer <token>` with every request (no CSRF needed)."""
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def use_csrf(client, csrf_token):
    """From now on `client` sends the session's CSRF token with every request (cookie-authenticated)."""
    client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token
    return client


# ---- a tournament server's caller, as the gateway vouches for it --------------------------------

ORGANIZER = {"id": 1, "username": "org"}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SigningClient(FlaskClient):
    """Adds a fresh X-Platform-Identity/Signature pair (new nonce) to each write it sends.

    `identity` is (user, roles) as the gateway would vouch for them; None sends writes unsigned.
    Headers given explicitly to a request win over the signed ones.
    """

    identity = (ORGANIZER, ["organizer"])
    secret = GATEWAY_SECRET

    def open(self, *args, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        if self.identity is not None and method not in SAFE_METHODS and args and isinstance(args[0], str):
            tournament_id = self.application.config["TOURNAMENT_ID"]
            path = unquote(urlsplit(args[0]).path)
            user, roles = self.identity
            explicit = dict(kwargs.pop("headers", None) or {})
            kwargs["headers"] = {**sign(self.secret, tournament_id, method, path, user, roles), **explicit}
        return super().open(*args, **kwargs)
