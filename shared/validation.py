"""Validation of JSON request bodies: every problem named per field, nothing half-applied."""
import re
from datetime import datetime, timezone

from flask import request

from shared.errors import APIError


def json_object():
    """The request body as a dict.

    :raise APIError 400: when the body is not a JSON object.
    """
    if not request.get_data(cache=True):
        return {}
    try:
        body = request.get_json(force=True, silent=True)
    except RecursionError:  # nesting deep enough to exhaust the parser is not a body we take
        body = None
    if body is None:
        raise APIError(400, "malformed_json", "The request body is not valid JSON.")
    if not isinstance(body, dict):
        raise APIError(400, "invalid_input", "The request body must be a JSON object.")
    return body


class Field:
    """One field of a body: its check, whether it is required, and a default."""

    def __init__(self, check, required=False, nullable=False):
        self.check = check
        self.required = required
        self.nullable = nullable


def _has_control_characters(text):
    # NUL can't be stored in PostgreSQL text, and no name needs the other control characters.
    return any(ord(char) < 32 and char not in "\n\r\t" or char == "\x7f" for char in text)


def string(min_len=1, max_len=100, strip=True):
    def check(value):
        if not isinstance(value, str):
            raise ValueError("must be a string")
        if _has_control_characters(value):
            raise ValueError("must not contain control characters")
        value = " ".join(value.split()) if strip else value
        if not min_len <= len(value) <= max_len:
            raise ValueError(f"must be {min_len} to {max_len} characters")
        return value
    return check


def integer(minimum=None, maximum=None):
    def check(value):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("must be an integer")
        if minimum is not None and value < minimum:
            raise ValueError(f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise ValueError(f"must be at most {maximum}")
        return value
    return check


def one_of(*choices):
    def check(value):
        # Exact types: JSON true is not 1, and 3.0 is not a best-of.
        if not any(value == choice and type(value) is type(choice) for choice in choices):
            raise ValueError("must be one of " + ", ".join(map(str, choices)))
        return value
    return check


def timestamp():
    def check(value):
        if not isinstance(value, str):
            raise ValueError("must be an ISO 8601 timestamp string")
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("must be an ISO 8601 timestamp") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return check


def validate(body, schema, partial=False):
    """The fields of `body` checked against `schema` ({name: Field}).

    With `partial`, required fields may be absent (PATCH).
    :raise APIError 400: naming every bad, missing or unknown field at once.
    """
    errors, clean = {}, {}
    for name in body.keys() - schema.keys():
        errors[name] = "unknown field"
    for name, field in schema.items():
        if name not in body:
            if field.required and not partial:
                errors[name] = "is required"
            continue
        value = body[name]
        if value is None:
            if field.nullable:
                clean[name] = None
            else:
                errors[name] = "must not be null"
            continue
        try:
            clean[name] = field.check(value)
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise APIError(400, "invalid_input", "The request has invalid fields.", errors)
    return clean


_QUERY_INT = re.compile(r"[0-9]{1,9}")
_IDENTIFIER = re.compile(r"[A-Za-z0-9_-]{1,40}")


def query_int(name, default=None, minimum=0, maximum=10**9):
    """`?name=` as an int within bounds, or `default` when absent.

    :raise APIError 400: for anything but plain ASCII digits in range.
    """
    raw = request.args.get(name)
    if raw is None:
        return default
    if not _QUERY_INT.fullmatch(raw) or not minimum <= int(raw) <= maximum:
        raise APIError(400, "invalid_input", "The query has invalid parameters.",
                       {name: f"must be an integer from {minimum} to {maximum}"})
    return int(raw)


def query_choice(name, choices):
    """`?name=` when it is one of `choices`, None when absent. :raise APIError 400: otherwise."""
    raw = request.args.get(name)
    if raw is not None and raw not in choices:
        raise APIError(400, "invalid_input", "The query has invalid parameters.",
                       {name: "must be one of " + ", ".join(choices)})
    return raw


def query_string(name, max_len=100):
    """`?name=` as a clean string, None when absent. :raise APIError 400: when it is not one."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        return string(1, max_len)(raw)
    except ValueError as exc:
        raise APIError(400, "invalid_input", "The query has invalid parameters.", {name: str(exc)}) from None


def is_identifier(value):
    """True for ids as this platform makes them (letters, digits, _ and -); anything else is unknown."""
    return bool(_IDENTIFIER.fullmatch(value))
