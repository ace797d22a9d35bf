"""Everything a client sends is checked here before anything is looked up or written: request
bodies (one strict JSON parser), text values, query parameters, path ids and dates. Every problem is
named per field, and nothing is half-applied."""
import json
import math
import re
from datetime import datetime, timezone

from flask import g, request

from shared.errors import APIError

# Deeper than any body of this API needs (the deepest, format options, is 2); a bound keeps a
# hostile body from costing recursion in the parser or in whoever reads the value next.
MAX_JSON_DEPTH = 8
# C0 controls but tab, newline and carriage return; DEL; and UTF-16 surrogates, which only appear
# in a Python str when a client sent a lone one (`"\ud800"`): no UTF-8 encoder, PostgreSQL's
# included, takes them. NUL can't be stored in PostgreSQL text at all.
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
TEXT_PROBLEM = "must not contain control characters, NUL or unpaired UTF-16 surrogates"
# Dates a client may set: PostgreSQL and Python read them back alike, whatever the offset.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)


def check_text(value):
    """`value` when it is text we store and send back as is. :raise ValueError: otherwise."""
    if _UNSAFE_TEXT.search(value):
        raise ValueError(TEXT_PROBLEM)
    return value


# ---- request bodies ----------------------------------------------------------------------------

def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses to inf
        raise ValueError(f"{text} is out of range")
    return value


def _bounded_int(text):
    if len(text.lstrip("-")) > 100:  # int() of a long digit string costs quadratic time
        raise ValueError("a number has more than 100 digits")
    return int(text)


def _object_without_duplicates(pairs):
    # A repeated name is read differently by different parsers (RFC 7493, I-JSON): refuse it.
    body = {}
    for name, value in pairs:
        if name in body:
            raise ValueError(f"the name {name!r} appears twice in one object")
        body[name] = value
    return body


def _check_values(body):
    """:raise APIError 400: for nesting deeper than MAX_JSON_DEPTH or unsafe text anywhere (names too),
    naming the top-level field it is in."""
    pending = [(body, 1, None)]
    while pending:
        value, depth, field = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise APIError(400, "invalid_input", f"The request body is nested deeper than {MAX_JSON_DEPTH} levels.")
        if isinstance(value, str):
            if _UNSAFE_TEXT.search(value):
                raise APIError(400, "invalid_input", "The request has invalid fields.",
                               {field: TEXT_PROBLEM} if field else None)
        elif isinstance(value, dict):
            for name, item in value.items():
                if _UNSAFE_TEXT.search(name):
                    # Not echoed back in `fields`: the name itself is what can't be sent on.
                    raise APIError(400, "invalid_input", f"A field name in the request {TEXT_PROBLEM}.")
                pending.append((item, depth + 1, field or name))
        elif isinstance(value, list):
            pending.extend((item, depth + 1, field) for item in value)


def parse_json(raw):
    """The value of a JSON text (bytes), strictly: UTF-8, no NaN or Infinity, no repeated names,
    no unsafe text, at most MAX_JSON_DEPTH deep.

    :raise APIError 400: malformed_json, or invalid_input for unsafe text and deep nesting.
    """
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite_float,
                          parse_int=_bounded_int, object_pairs_hook=_object_without_duplicates)
    except RecursionError:  # nested deep enough to exhaust the parser
        raise APIError(400, "invalid_input",
                       f"The request body is nested deeper than {MAX_JSON_DEPTH} levels.") from None
    except UnicodeDecodeError:
        raise APIError(400, "malformed_json", "The request body is not UTF-8.") from None
    except ValueError as exc:
        raise APIError(400, "malformed_json", f"The request body is not valid JSON: {exc}.") from None
    _check_values(body)
    return body


def json_object():
    """The request body as a dict ({} when there is none), parsed once per request by parse_json.

    :raise APIError 400: when the body is not a JSON object this API takes.
    """
    if "json_body" not in g:
        raw = request.get_data(cache=True)
        g.json_body = parse_json(raw) if raw else {}
    body = g.json_body
    if not isinstance(body, dict):
        raise APIError(400, "invalid_input", "The request body must be a JSON object.")
    return body


def check_request_body(raw_body_endpoints=()):
    """A before_request hook: every body a view could read goes through parse_json, read or not,
    except the endpoints in `raw_body_endpoints` (the gateway forwards bodies unread)."""
    def check():
        if request.url_rule is None or request.endpoint in raw_body_endpoints:
            return
        if request.get_data(cache=True):
            json_object()
    return check


# ---- fields of a body --------------------------------------------------------------------------

class Field:
    """One field of a body: its check, whether it is required, and a default."""

    def __init__(self, check, required=False, nullable=False):
        self.check = check
        self.required = required
        self.nullable = nullable


def string(min_len=1, max_len=100, strip=True):
    def check(value):
        if not isinstance(value, str):
            raise ValueError("must be a string")
        check_text(value)
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


def moment(value):
    """An ISO 8601 timestamp string as an aware UTC datetime within [EARLIEST, LATEST).

    :raise ValueError: otherwise (naive times are UTC).
    """
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("must be an ISO 8601 timestamp string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be an ISO 8601 timestamp") from None
    parsed = parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed
    try:
        parsed = parsed.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is in year 10000 in UTC
        parsed = None
    if parsed is None or not EARLIEST <= parsed < LATEST:
        raise ValueError(f"must be from {EARLIEST.year} up to {LATEST.year} (UTC)")
    return parsed


def timestamp():
    return moment


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


# ---- query parameters, headers and paths -------------------------------------------------------

_DIGITS = re.compile(r"[0-9]{1,18}")  # ASCII only: str.isdigit() and int() take other scripts' digits
_IDENTIFIER = re.compile(r"[A-Za-z0-9_-]{1,40}")
# A path the gateway forwards: segments of the shape the servers' routes have; never "." or "..".
_PATH_SEGMENT = re.compile(r"(?!\.+$)[A-Za-z0-9._-]{1,64}")
ID_PROBLEM = "must be an id: 1 to 40 letters, digits, '_' or '-'"


def invalid_query(name, why):
    return APIError(400, "invalid_input", "The query has invalid parameters.", {name: why})


def query_int(name, default=None, minimum=0, maximum=10**9):
    """`?name=` as an int within bounds, or `default` when absent.

    :raise APIError 400: for anything but plain ASCII digits in range.
    """
    raw = request.args.get(name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or not minimum <= int(raw) <= maximum:
        raise invalid_query(name, f"must be an integer from {minimum} to {maximum}")
    return int(raw)


def counter(raw):
    """A non-negative integer sent as text (a header's, a query's), or None for anything else."""
    return int(raw) if _DIGITS.fullmatch(raw) else None


def query_choice(name, choices):
    """`?name=` when it is one of `choices`, None when absent. :raise APIError 400: otherwise."""
    raw = request.args.get(name)
    if raw is not None and raw not in choices:
        raise invalid_query(name, "must be one of " + ", ".join(choices))
    return raw


def query_string(name, max_len=100):
    """`?name=` as a clean string, None when absent. :raise APIError 400: when it is not one."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        return string(1, max_len)(raw)
    except ValueError as exc:
        raise invalid_query(name, str(exc)) from None


def is_identifier(value):
    """True for ids as this platform makes them (letters, digits, _ and -); anything else is unknown."""
    return isinstance(value, str) and bool(_IDENTIFIER.fullmatch(value))


def check_path_values(_endpoint, values):
    """A url_value_preprocessor: every id in a path (`*_id`) has the shape of the ids this platform
    makes, and any other text in it (the gateway's forwarded path, a file name) the shape of a
    server's routes, before any lookup or forward.

    :raise APIError 400: naming the part of the path that doesn't.
    """
    for name, value in (values or {}).items():
        if not isinstance(value, str):
            continue  # int converters have checked theirs
        if name.endswith("_id"):
            if not is_identifier(value):
                raise APIError(400, "invalid_input", "The path has invalid parts.", {name: ID_PROBLEM})
        elif not all(_PATH_SEGMENT.fullmatch(part) for part in value.split("/") if part):
            raise APIError(400, "invalid_input", "The path has invalid parts.",
                           {name: "must be segments of letters, digits, '.', '_' or '-'"})


def install(app, raw_body_endpoints=()):
    """Check every path and body `app` is sent (see check_path_values and check_request_body)."""
    app.url_value_preprocessor(check_path_values)
    app.before_request(check_request_body(raw_body_endpoints))
