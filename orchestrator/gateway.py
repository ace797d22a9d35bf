"""/t/<id>/...: the gateway to each tournament's server, streaming both ways."""
import requests
from flask import Blueprint, Response, jsonify, request, stream_with_context

from orchestrator.auth import identity_headers, visible_tournament
from orchestrator.services import snapshots
from orchestrator.services.server_client import ServerUnavailable
from shared import validation as v
from shared.errors import APIError
from shared.identity import IDENTITY_HEADER, SIGNATURE_HEADER
from shared.state_machine import ARCHIVED, CANCELLED

bp = Blueprint("gateway", __name__)

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# Hop-by-hop headers belong to one connection and are never forwarded (RFC 9110 7.6.1).
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length"}
# Client credentials stay with the orchestrator; the signed identity replaces them.
STRIPPED = HOP_BY_HOP | {"cookie", "authorization", IDENTITY_HEADER.lower(), SIGNATURE_HEADER.lower()}
ENDED_STATES = (ARCHIVED, CANCELLED)
MATCH_STATUSES = ("pending", "completed", "bye")
_session = requests.Session()


@bp.route("/t/<tournament_id>/", defaults={"path": ""}, methods=METHODS)
@bp.route("/t/<tournament_id>/<path:path>", methods=METHODS)
def forward(tournament_id, path):
    tournament = visible_tournament(tournament_id)  # 404 for an unknown id or another's draft
    if not tournament.endpoint and tournament.state in ENDED_STATES:
        return _ended_view(tournament, path)
    if not tournament.endpoint:
        raise ServerUnavailable(tournament_id, f"it is not running (state {tournament.state})")
    headers = {k: v for k, v in request.headers.items() if k.lower() not in STRIPPED}
    # The server believes only what the gateway signs: never pass a client's own identity headers.
    headers.update(identity_headers(tournament, request.method, "/" + path))
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


def _ended_view(tournament, path):
    """GETs of an archived or cancelled tournament, answered from its final snapshot."""
    if request.method not in ("GET", "HEAD"):
        raise APIError(409, "read_only", f"Tournament {tournament.id} is {tournament.state}: it is read-only.")
    round_no = v.query_int("round", minimum=1, maximum=64)
    status = v.query_choice("status", MATCH_STATUSES)
    answer = snapshots.view(tournament.final_snapshot, path, round_no, status) if tournament.final_snapshot else None
    if answer is None:
        raise APIError(404, "not_found", f"Tournament {tournament.id} is {tournament.state}; "
                                         f"only {', '.join(snapshots.READ_ONLY_PATHS)} can be read.")
    return jsonify(answer)
