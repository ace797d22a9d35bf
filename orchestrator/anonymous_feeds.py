"""Anonymous viewers of the public feeds, answered below Flask.

A crowd connecting at once (a big event starting, every viewer resuming after a proxy or an
orchestrator restart) is mostly anonymous viewers of one tournament's feed. Flask's machinery
around the view (request context, routing, session, flask-login, hooks, teardown, the response
object) was most of what such a connect cost (`bench/sse_fanout.py`, ARCHITECTURE.md "Measured").

`AnonymousFeeds` sits between the request ids (shared/logs.RequestIds: the id, its header, the
access line) and Flask. A GET of a public feed (orchestrator/api/events.PUBLIC_FEEDS) with no
credentials, no body and nothing else to check it answers with the view's own parts: the same
visibility check, Last-Event-ID, stream slot, body (replay, then live, direct writes included),
the same headers, and the same count on /metrics under the view's endpoint. Anything else goes
to Flask unchanged, and so does every refusal (404, 400, 429, 503): Flask then runs the same
checks again and answers as it always has, so a refused viewer costs what it did before, and
errors keep one source (their envelope, an HTML page for a browser, the logged exception).
"""
import re
import time

from flask_login.config import COOKIE_NAME as REMEMBER_COOKIE
from werkzeug.http import parse_cookie
from werkzeug.wrappers import Request

from orchestrator import metrics
from orchestrator.api import events
from orchestrator.streams import anonymous_caller, hold_stream
from shared.http import SECURITY_HEADERS
from shared.sse import SSE_HEADERS
from shared.validation import TOKEN_HEADERS

# Flask's routes of the public feeds with an id of the shape check_path_values lets through
# (any other id is Flask's 400); no trailing slash (strict slashes: Flask's 404).
_ROUTE = re.compile(r"/api/v1/events/(?:(global)|tournaments/([A-Za-z0-9_-]{1,40})(/chat)?)")
# What the view's response carries: its own headers, the app's after_request security headers,
# and the session's Vary (flask-login looks at the session of every request asking who calls).
HEADERS = [*SSE_HEADERS.items(), *SECURITY_HEADERS.items(), ("Vary", "Cookie")]
# Credentials, and headers check_request would have to check (Last-Event-ID is checked here).
_FLASKS_HEADERS = tuple("HTTP_" + name.upper().replace("-", "_") for name in TOKEN_HEADERS if name != "Last-Event-ID")


class AnonymousFeeds:
    """WSGI middleware in front of the orchestrator's Flask `app` (whose wsgi_app is `flask`)."""

    def __init__(self, app, flask):
        self.app, self.flask = app, flask

    def __call__(self, environ, start_response):
        endpoint = self._public_feed(environ)
        if endpoint is None:
            return self.flask(environ, start_response)
        started = time.perf_counter()
        name, tournament_id = endpoint
        app = self.app
        try:
            channel, feed = events.public_feed(app, name, tournament_id)
            last_id = events.last_event_id(environ.get("HTTP_LAST_EVENT_ID"), _query_value(environ, "last_event_id"))
            release = hold_stream(app.extensions["stream_slots"], anonymous_caller(environ.get("REMOTE_ADDR")), "feed")
        except Exception:
            return self.flask(environ, start_response)  # a refusal, or a database away: Flask's to answer
        try:
            body = events.feed_body(app, environ, channel, feed, last_id)
        except Exception:
            release()
            return self.flask(environ, start_response)
        except BaseException:
            release()
            raise
        start_response("200 OK", list(HEADERS))
        metrics.count_answer("events." + name, "GET", 200, started)
        return _Stream(body, release)

    def _public_feed(self, environ):
        """(endpoint, tournament id or None) when `environ` is an anonymous GET of a public feed
        with nothing else for Flask to check; None for anything else."""
        if environ.get("REQUEST_METHOD") != "GET":
            return None
        match = _ROUTE.fullmatch(environ.get("PATH_INFO", ""))
        if (match is None or environ.get("CONTENT_LENGTH") not in (None, "", "0") or "HTTP_TRANSFER_ENCODING" in environ
                or any(header in environ for header in _FLASKS_HEADERS) or "feed_hub" not in self.app.extensions):
            return None
        cookies = environ.get("HTTP_COOKIE")
        if cookies:
            names = parse_cookie(cookies)
            config = self.app.config
            if config["SESSION_COOKIE_NAME"] in names or config.get("REMEMBER_COOKIE_NAME", REMEMBER_COOKIE) in names:
                return None  # perhaps someone logged in
        if match[1]:
            return "global_feed", None
        return ("tournament_chat_feed" if match[3] else "tournament_feed"), match[2]


def _query_value(environ, name):
    """`?name=` as Flask's request.args reads it (the first one), None without it."""
    if not environ.get("QUERY_STRING"):
        return None
    return Request(environ, populate_request=False).args.get(name)


class _Stream:
    """The feed's body; closing it (the client went away, the stream ended) ends the viewer's
    stream, then frees its slot, as a Flask response's call_on_close does."""

    def __init__(self, frames, release):
        self.frames, self.release = frames, release

    def __iter__(self):
        return self.frames

    def close(self):
        try:
            self.frames.close()
        finally:
            self.release()
