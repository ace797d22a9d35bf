"""One JSON error envelope for both services: `{"error": {"code", "message", "fields"}}`."""
import logging

import sqlalchemy as sa
from flask import jsonify, make_response, request
from werkzeug.exceptions import HTTPException

from shared.state_machine import IllegalAction

log = logging.getLogger(__name__)

# How long a client should wait before trying again when the database is away.
DATABASE_RETRY_AFTER = 5
# SQLSTATEs of a database that is going away or refuses connections: class 08 (connection
# exception), 57P01-57P03 (shut down, crashed, starting up) and 53300 (too many connections).
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


class APIError(Exception):
    """An error a client caused or can act on, returned with `status`."""

    def __init__(self, status, code, message, fields=None, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers


def error_response(status, code, message, fields=None, headers=None):
    body = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def database_unavailable(exc):
    """True when `exc` says the database can't be reached (not that a statement failed)."""
    if isinstance(exc, (sa.exc.InterfaceError, sa.exc.TimeoutError, sa.exc.DisconnectionError)):
        return True
    if not isinstance(exc, sa.exc.OperationalError):
        return False
    # psycopg2 names it pgcode, psycopg 3 sqlstate; a failed connect has none at all.
    sqlstate = getattr(exc.orig, "pgcode", None) or getattr(exc.orig, "sqlstate", None)
    return exc.connection_invalidated or sqlstate is None or sqlstate.startswith(_UNAVAILABLE_SQLSTATES)


def database_unavailable_error():
    """The 503 a client gets while the database can't be reached."""
    return APIError(503, "database_unavailable", "The database can't be reached; try again shortly.",
                    headers={"Retry-After": str(DATABASE_RETRY_AFTER)})


def prefers_html():
    """True when the client asks for a page rather than JSON (a browser's navigation does)."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes["text/html"] > request.accept_mimetypes["application/json"]


def register_error_handlers(app, on_server_error=None, html_page=None):
    """Map APIError, IllegalAction, HTTP errors and anything unexpected to the envelope.

    With `html_page(status, code, message)` (a response), a client that prefers HTML gets that
    page instead, with the same status and headers; JSON clients keep the envelope.

    `on_server_error` runs before a 500 or 503 is returned (the orchestrator rolls its session back
    there). A database that can't be reached is a 503 `database_unavailable` with Retry-After.
    """

    def respond(status, code, message, fields=None, headers=None):
        if html_page is None or not prefers_html():
            return error_response(status, code, message, fields, headers)
        try:
            response = make_response(html_page(status, code, message))
        except Exception:
            # The page itself failed (its navigation asks who is logged in, and the database
            # may be what is away): the envelope still answers, never a bare 500.
            log.warning("error page for %s failed; answering JSON", status, exc_info=True)
            return error_response(status, code, message, fields, headers)
        response.status_code = status
        for name, value in (headers or {}).items():
            response.headers[name] = value
        return response

    @app.errorhandler(APIError)
    def api_error(exc):
        return respond(exc.status, exc.code, exc.message, exc.fields, exc.headers)

    @app.errorhandler(IllegalAction)
    def illegal_action(exc):
        return respond(409, "illegal_state", str(exc), {"action": exc.action, "state": exc.state})

    @app.errorhandler(HTTPException)
    def http_error(exc):
        code = (exc.name or "error").lower().replace(" ", "_")
        allowed = getattr(exc, "valid_methods", None)
        headers = {"Allow": ", ".join(allowed)} if allowed else None
        return respond(exc.code or 500, code, exc.description or exc.name, headers=headers)

    @app.errorhandler(Exception)
    def unexpected_error(exc):
        unavailable = database_unavailable(exc)
        if unavailable:
            log.warning("database unavailable on %s %s: %s", request.method, request.path, exc.__class__.__name__)
        else:
            log.exception("unhandled error on %s %s", request.method, request.path)
        if on_server_error:
            _quietly(on_server_error)
        if unavailable:
            return api_error(database_unavailable_error())
        return respond(500, "internal_error", "The server failed to handle this request.")


def _quietly(cleanup):
    # Rolling back over a dead connection fails too; the answer must still go out.
    try:
        cleanup()
    except Exception:
        log.warning("cleanup after an error failed", exc_info=True)
