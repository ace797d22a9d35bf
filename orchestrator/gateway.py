"""/t/<id>/...: the gateway to each tournament's server, streaming both ways."""
import requests
from flask import Blueprint, Response, request, stream_with_context

from orchestrator.services import registry
from orchestrator.services.server_client import ServerUnavailable

bp = Blueprint("gateway", __name__)

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# Hop-by-hop headers belong to one connection and are never forwarded (RFC 9110 7.6.1).
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length"}
_session = requests.Session()


@bp.route("/t/<tournament_id>/", defaults={"path": ""}, methods=METHODS)
@bp.route("/t/<tournament_id>/<path:path>", methods=METHODS)
def forward(tournament_id, path):
    tournament = registry.get_tournament(tournament_id)  # 404 for an unknown id
    if not tournament.endpoint:
        raise ServerUnavailable(tournament_id, f"it is not running (state {tournament.state})")
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    headers["X-Forwarded-For"] = request.remote_addr or ""
    headers["X-Forwarded-Prefix"] = f"/t/{tournament_id}"
    try:
        upstream = _session.request(
            request.method, f"http://{tournament.endpoint}/{path}", params=request.args,
            data=request.stream if request.content_length else None, headers=headers,
            # Connect fast or report the server down; reads may wait out SSE heartbeats.
            stream=True, allow_redirects=False, timeout=(2, 60))
    except requests.RequestException as exc:
        raise ServerUnavailable(tournament_id, type(exc).__name__) from None

    def body():
        try:
            yield from upstream.raw.stream(8192, decode_content=False)
        finally:
            upstream.close()

    response_headers = [(k, v) for k, v in upstream.raw.headers.items() if k.lower() not in HOP_BY_HOP]
    return Response(stream_with_context(body()), status=upstream.status_code, headers=response_headers)
