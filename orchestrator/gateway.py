"""/t/<id>/...: the gateway to each tournament's server, streaming its answers back."""
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import urllib3
from flask import Blueprint, Response, current_app, jsonify, render_template, request, stream_with_context
from urllib3.exceptions import ConnectTimeoutError, HTTPError as UpstreamError, ProtocolError
from werkzeug.exceptions import RequestEntityTooLarge

from orchestrator.auth import identity_headers, viewer
from orchestrator.extensions import db
from orchestrator.fragment_cache import CACHE_HEADER, Answer
from orchestrator.services import snapshots
from orchestrator.services.server_client import ServerUnavailable
from orchestrator.streams import stream_response
from shared import logs, validation as v
from shared.errors import APIError
from shared.identity import IDENTITY_HEADER, SIGNATURE_HEADER
from shared.state_machine import ARCHIVED, CANCELLED, DRAFT

bp = Blueprint("gateway", __name__)

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# Hop-by-hop headers belong to one connection and are never forwarded (RFC 9110 7.6.1).
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length"}
# Client credentials stay with the orchestrator; the signed identity replaces them. The request id
# the server gets is the one this request was given (shared/logs.py), not whatever the client sent.
STRIPPED = HOP_BY_HOP | {"cookie", "authorization", IDENTITY_HEADER.lower(), SIGNATURE_HEADER.lower(),
                         logs.REQUEST_ID_HEADER.lower()}
ENDED_STATES = (ARCHIVED, CANCELLED)
MATCH_STATUSES = ("pending", "completed", "bye")
# The supervisor's own view of a server (its health answer carries the adoption token), the
# pages rendered for the final snapshot (dozens of pages in one answer) and its metrics (for
# Prometheus on the private network): not public.
INTERNAL_PATHS = frozenset({"/api/health", "/api/pages", "/metrics"})
LIVE_STREAM_PATH = "/api/events"
FRAGMENTS_PREFIX = "/fragments/"
READS = ("GET", "HEAD", "OPTIONS")
STATIC_PREFIX = "/static/"
PATH_SAFE = "/:@!$&'()*+,;=-._~"  # RFC 3986 path characters, left as they are
BODY_KEY = "orchestrator.gateway.body"
# Kept-alive connections to the tournament servers, through urllib3's pools directly: requests'
# Session on top of them cost ~0.5 ms of CPU per request (merging settings, reading the proxy
# variables of the environment, preparing a second copy of the request). One pool per server: with
# fewer pools than servers (urllib3's default is 10) the fleet took turns evicting each other's
# pools, and a request found no open connection to its server.
_servers = urllib3.PoolManager(num_pools=1000, maxsize=10)
# Connect fast or report the server down; reads may wait out SSE heartbeats.
UPSTREAM_TIMEOUT = urllib3.Timeout(connect=2, read=60)


class _NotConnected(ServerUnavailable):
    """The server's address took no connection: nothing of the request reached anyone."""


class _Dropped(ServerUnavailable):
    """The connection closed before any answer: a kept-alive one its server closed as the request
    went out (a server stopping), or a server that died with the request. The request may have
    reached it."""


@bp.route("/t/<tournament_id>/", defaults={"path": ""}, methods=METHODS)
@bp.route("/t/<tournament_id>/<path:path>", methods=METHODS)
def forward(tournament_id, path):
    routes = current_app.extensions["routes"]
    # 404 for an unknown id or another's draft; a tournament with a server may come from memory.
    tournament, kept = routes.visible(tournament_id, viewer())
    try:
        return _answer(tournament, path)
    except (_NotConnected, _Dropped) as exc:
        if not _worth_another_try(exc, kept):
            raise
        # The address is gone (its server moved, stopped or died, told to another process), or its
        # server closed the connection as it stopped: ask the registry where the tournament is
        # now (an archive that stopped it leaves its read-only view), and send the request once more.
        routes.forget(tournament_id)
        return _answer(routes.visible(tournament_id, viewer())[0], path)


def _worth_another_try(exc, kept):
    """Whether a request its server did not answer may go once more to where the registry says now.

    A read may: it is safe to repeat (RFC 9110 9.2.2), and a viewer polling a tournament that is
    being archived must not see its server stop. A write only when nothing of it reached anyone and
    the address came from memory (a fresh one that refused is the registry's answer itself)."""
    if request.method in READS:
        return True
    return kept and isinstance(exc, _NotConnected)


def _answer(tournament, path):
    """The gateway's answer for `tournament` (an ORM entry or a kept routes.Route) and `path`."""
    target = server_path(path)
    if target in INTERNAL_PATHS:
        raise APIError(404, "not_found", "No such path on a tournament server.")
    if not tournament.endpoint and tournament.state in ENDED_STATES:
        return _ended_view(tournament, path)
    if tournament.state == DRAFT:
        # Not an outage: a draft has no server until it is published.
        raise APIError(409, "not_published", f"Tournament {tournament.id} is a DRAFT: its server starts when "
                       "it is published.", {"state": DRAFT})
    if not tournament.endpoint:
        raise ServerUnavailable(tournament.id, f"it is not running (state {tournament.state})")
    if target == LIVE_STREAM_PATH:
        return stream_response(lambda: _forward(tournament, target), "gateway")
    fragments = current_app.extensions.get("fragment_cache")
    if fragments is not None and request.method == "GET" and target.startswith(FRAGMENTS_PREFIX):
        return _shared_fragment(fragments, tournament, target)
    response = _forward(tournament, target)
    if fragments is not None and request.method not in READS:
        # The server has answered: whatever the command changed is in what it renders from now.
        fragments.changed(tournament.id)
    return response


def _shared_fragment(fragments, tournament, target):
    """A live fragment from the orchestrator's memory when the server rendered it for everyone at
    the tournament's current seq; else (first asker since the change) fetched, and kept."""
    def fetch():
        upstream = _upstream(tournament, target)
        try:
            body = upstream.read(decode_content=False)
        finally:
            _close(upstream)
        headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP]
        return Answer(upstream.status, headers, body)

    answer, outcome = fragments.answer(tournament.id, tournament.endpoint, target, request.query_string, fetch)
    response = Response(answer.body, status=answer.status, headers=answer.headers)
    response.headers[CACHE_HEADER] = outcome
    return response


def _forward(tournament, target):
    upstream = _upstream(tournament, target)

    def stream_body():
        try:
            yield from upstream.stream(8192, decode_content=False)
        finally:
            _close(upstream)

    response_headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP]
    response = Response(stream_with_context(stream_body()), status=upstream.status, headers=response_headers)
    if "Location" in response.headers:
        response.headers["Location"] = _gateway_location(tournament.id, response.headers["Location"])
    return response


def _upstream(tournament, target):
    """The server's answer to this request (headers read, body not yet), sent as the gateway vouches.

    :raise ServerUnavailable: when the server does not answer."""
    headers = {k: v for k, v in request.headers.items() if k.lower() not in STRIPPED}
    # The server believes only what the gateway signs: never pass a client's own identity headers.
    headers.update(identity_headers(tournament, request.method, target))
    headers["X-Forwarded-For"] = request.remote_addr or ""
    headers["X-Forwarded-Prefix"] = f"/t/{tournament.id}"
    headers.update(logs.request_id_header())
    body = _request_body()
    # Framed as requests framed it: a Content-Length for every body, 0 for a bodiless write.
    if body or request.method not in ("GET", "HEAD"):
        headers["Content-Length"] = str(len(body))
    # Quoted again: a `?` or `#` the client sent encoded stays in the path it was checked as. The
    # query is sent as parsed (the first value of each name), as requests sent `params=request.args`.
    url = f"http://{tournament.endpoint}{quote(target, safe=PATH_SAFE)}"
    if request.args:
        url += "?" + urlencode(list(request.args.items()))
    # The server may take a while (a command waits for its commit): hand the request's database
    # connection back meanwhile, or a burst of requests through the gateway queued for the pool's
    # 15 connections until they timed out after 30 s.
    db.session.close()
    try:
        return _servers.urlopen(request.method, url, body=body or None, headers=headers, retries=False,
                                redirect=False, preload_content=False, decode_content=False,
                                timeout=UPSTREAM_TIMEOUT)
    except ConnectTimeoutError as exc:  # refused, unreachable, or no answer to the connect
        raise _NotConnected(tournament.id, type(exc).__name__) from None
    except ProtocolError as exc:  # closed or reset before an answer
        raise _Dropped(tournament.id, type(exc).__name__) from None
    except UpstreamError as exc:
        raise ServerUnavailable(tournament.id, type(exc).__name__) from None


def _close(upstream):
    """Done with an upstream answer: its connection back to the pool when the body was read to
    its end, else closed (a viewer who left an SSE stream leaves it unread)."""
    upstream.close()
    upstream.release_conn()


def _request_body():
    """The request body, read whole (bodies are small), chunked or not, so the server gets a plain
    Content-Length and nothing reaches it from a body past the limit.

    :raise 413: past MAX_CONTENT_LENGTH.
    """
    # Kept with this request (not in `g`, which a test's app context shares between requests)
    # for a second try after an address that took no connection.
    if BODY_KEY not in request.environ:
        request.environ[BODY_KEY] = _read_body()
    return request.environ[BODY_KEY]


def _read_body():
    if request.content_length is not None or "wsgi.input_terminated" not in request.environ:
        return request.get_data(cache=False)  # a declared length werkzeug checks against the limit
    # Chunked: werkzeug would cut the body at the limit without a word; read one byte past it.
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    body = request.environ["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        raise RequestEntityTooLarge()
    return body


def server_path(path):
    """`path` as the server will route it: empty and `.` segments dropped, `..` resolved.

    What the gateway checks and signs is then exactly what the server serves.
    """
    segments = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in ("", "."):
            segments.append(segment)
    trailing = "/" if path.endswith("/") and segments else ""
    return "/" + "/".join(segments) + trailing


def _gateway_location(tournament_id, location):
    """An upstream redirect's target, relative, under this tournament's gateway path.

    Whatever host the server named (its own private address, or a Host it was sent) is dropped.
    """
    target = urlsplit(location)
    if not target.scheme and not target.netloc and not target.path.startswith("/"):
        return location  # relative to the current path, which is already under /t/<id>/
    return urlunsplit(("", "", f"/t/{tournament_id}{server_path(target.path)}", target.query, target.fragment))


@bp.after_app_request
def no_redirect_to_the_callers_host(response):
    """Redirects Flask makes itself (a missing or doubled slash) name the Host the client sent:
    keep only the path, so no answer points anywhere a Host header says."""
    location = response.headers.get("Location")
    if location and 300 <= response.status_code < 400:
        target = urlsplit(location)
        if target.netloc:
            response.headers["Location"] = urlunsplit(("", "", target.path or "/", target.query, target.fragment))
    return response


def _ended_view(tournament, path):
    """GETs of an archived or cancelled tournament, answered from its final snapshot: its page (as
    its server rendered it), the page's static files and the JSON views."""
    if request.method not in ("GET", "HEAD"):
        raise APIError(409, "read_only", f"Tournament {tournament.id} is {tournament.state}: it is read-only.")
    snapshot, target = tournament.final_snapshot, server_path(path)
    if target.startswith(FRAGMENTS_PREFIX):
        # A part of a live page left open across the end (its last event's refresh): nothing live
        # is left to show, so htmx is told to load the page again, which is now the kept one.
        return Response(status=204, headers={"HX-Refresh": "true", "Cache-Control": "no-store"})
    if target == "/":
        html = snapshots.page(snapshot, request.args.get("round"),
                              request.args.get("follow") == "current") if snapshot else None
        if html is None:  # kept before pages were: say what can still be read
            standings = (snapshots.view(snapshot, "api/standings") or {}).get("items", []) if snapshot else []
            return render_template("tournament_ended.html", tournament=tournament, paths=snapshots.READ_ONLY_PATHS,
                                   snapshot=snapshot is not None, standings=standings)
        return Response(html, mimetype="text/html")
    if target.startswith(STATIC_PREFIX) and snapshot:
        kept = snapshots.static_file(snapshot, target[len(STATIC_PREFIX):])
        if kept:
            return Response(kept[0], content_type=kept[1])
    round_no = v.query_int("round", minimum=1, maximum=64)
    status = v.query_choice("status", MATCH_STATUSES)
    answer = snapshots.view(tournament.final_snapshot, path, round_no, status) if tournament.final_snapshot else None
    if answer is None:
        raise APIError(404, "not_found", f"Tournament {tournament.id} is {tournament.state}; only its page "
                                         f"and {', '.join(snapshots.READ_ONLY_PATHS)} can be read.")
    return jsonify(answer)
