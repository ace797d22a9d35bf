"""The one strict JSON parser for request bodies: what RFC 8259 leaves open (NaN, Infinity,
repeated names, lone surrogates, unbounded nesting) is refused, so no value a client sends can
break a later write or read."""
import json
import math

from shared.errors import APIError
from shared.text import TEXT_PROBLEM, has_unsafe_text

# Deeper than any body of this API needs (the deepest, format options, is 2); a bound keeps a
# hostile body from costing recursion in the parser or in whoever reads the value next.
MAX_JSON_DEPTH = 8


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
            if has_unsafe_text(value):
                raise APIError(400, "invalid_input", "The request has invalid fields.",
                               {field: TEXT_PROBLEM} if field else None)
        elif isinstance(value, dict):
            for name, item in value.items():
                if has_unsafe_text(name):
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
