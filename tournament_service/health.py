"""/api/health answered in front of Flask.

The supervisor asks every server for it every HEALTH_CHECK_INTERVAL, and the kubelet probes each
pod too: across a fleet of hundreds that is tens of requests a second of pure overhead. Flask's
request machinery (context, routing, hooks, the access line) was most of the ~1.3 ms of CPU a
check cost a server; here it is the answer alone. The answer is the same document the API
blueprint would give, read from the server's memory, never waiting for its command lock or the
database: a server busy with a long command still answers as itself.
"""
import json
import os

from shared.http import SECURITY_HEADERS

PATH = "/api/health"


def health_document(server, token):
    """Who this process is: what the supervisor's checks and adoption compare."""
    return {"tournament_id": server.tournament_id, "token": token, "pid": os.getpid(),
            "state": server.tournament.state, "seq": server.tournament.seq}


class HealthFirst:
    """WSGI middleware: GET (and HEAD) of /api/health answered here, everything else passed on."""

    def __init__(self, wsgi_app, server, token):
        self.wsgi_app, self.server, self.token = wsgi_app, server, token
        self.headers = [("Content-Type", "application/json"), *SECURITY_HEADERS.items()]

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        if environ.get("PATH_INFO") != PATH or method not in ("GET", "HEAD") or environ.get("QUERY_STRING"):
            return self.wsgi_app(environ, start_response)
        body = json.dumps(health_document(self.server, self.token)).encode()
        start_response("200 OK", [*self.headers, ("Content-Length", str(len(body)))])
        return [body] if method == "GET" else []
