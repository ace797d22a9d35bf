"""Assertions shared by the API input tests: the error envelope and "nothing changed"."""
import json

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
