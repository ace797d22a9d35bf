"""One JSON error envelope for both services: `{"error": {"code", "message", "fields"}}`."""
import logging

from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from shared.state_machine import IllegalAction

log = logging.getLogger(__name__)


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


def register_error_handlers(app, on_server_error=None):
    """Map APIError, IllegalAction, HTTP errors and anything unexpected to the envelope.

    `on_server_error` runs before a 500 is returned (the orchestrator rolls its session back there).
    """

    @app.errorhandler(APIError)
    def api_error(exc):
        return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)

    @app.errorhandler(IllegalAction)
    def illegal_action(exc):
        return error_response(409, "illegal_state", str(exc), {"action": exc.action, "state": exc.state})

    @app.errorhandler(HTTPException)
    def http_error(exc):
        code = (exc.name or "error").lower().replace(" ", "_")
        allowed = getattr(exc, "valid_methods", None)
        headers = {"Allow": ", ".join(allowed)} if allowed else None
        return error_response(exc.code or 500, code, exc.description or exc.name, headers=headers)

    @app.errorhandler(Exception)
    def unexpected_error(exc):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if on_server_error:
            on_server_error()
        return error_response(500, "internal_error", "The server failed to handle this request.")
