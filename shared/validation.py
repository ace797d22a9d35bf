"""Everything a client sends is checked here before anything is looked up or written: request
bodies (one strict JSON parser), text values, query parameters, path ids and dates. Every problem is
named per field, and nothing is half-applied."""
import re
from datetime import datetime, timezone

from flask import g, request

from shared.errors import APIError
from shared.strict_json import parse_json
from shared.text import check_text

# Dates a client may set: PostgreSQL and Python read them back alike, whatever the offset.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)


# ---- request bodies ----------------------------------------------------------------------------

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


# Headers the apps read as tokens or numbers, ASCII by construction: anything else is refused
# before a comparison (hmac.compare_digest takes ASCII text only) or a parse meets it.
TOKEN_HEADERS = ("Authorization", "X-CSRF-Token", "X-Platform-Identity", "X-Platform-Signature", "Last-Event-ID")
_TOKEN = re.compile(r"[\x20-\x7e]{0,4096}")


def check_request(raw_body_endpoints=(), form_blueprints=()):
    """A before_request hook: the token headers are printable ASCII, and every body a view could
    read goes through parse_json, read or not, except at the endpoints in `raw_body_endpoints`
    (the gateway forwards bodies unread) and in `form_blueprints` (HTML pages, whose forms check
    their own fields). :raise APIError 400: otherwise."""
    def check():
        if request.url_rule is None:
            return
        for name in TOKEN_HEADERS:
            if not _TOKEN.fullmatch(request.headers.get(name, "")):
                raise APIError(400, "invalid_input", f"The {name} header is not a token.",
                               {name: "must be printable ASCII"})
        if request.blueprint in form_blueprints:
            return
        if request.endpoint not in raw_body_endpoints and request.get_data(cache=True):
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


def install(app, raw_body_endpoints=(), form_blueprints=()):
    """Check every path, token header and body `app` is sent (check_path_values, check_request);
    call it before any other before_request hook is registered, so they all see checked input."""
    app.url_value_preprocessor(check_path_values)
    app.before_request(check_request(raw_body_endpoints, form_blueprints))
