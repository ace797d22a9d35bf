"""Read-only views of ended tournaments, whose servers are stopped.

Just before an archived or cancelled tournament's server stops, its read models are copied into
the registry; the gateway answers the same GET paths from that copy afterwards.
"""
import json

from orchestrator.services import server_client

READ_ONLY_PATHS = ("api/state", "api/teams", "api/matches", "api/standings", "api/bracket")


def capture(endpoint, tournament_id, summary):
    """The JSON text of everything a viewer can read from the server at `endpoint`."""
    def read(path):
        return server_client.query(endpoint, tournament_id, path)

    matches = []
    for round_no in range(1, summary["round"] + 1):
        matches.extend(read(f"/api/matches?round={round_no}")["items"])
    return json.dumps({"api/state": summary, "api/teams": read("/api/teams"), "matches": matches,
                       "api/standings": read("/api/standings"), "api/bracket": read("/api/bracket")})


def view(snapshot_text, path, round_no=None, status=None):
    """The stored answer for GET `path`, or None when the snapshot has no such view."""
    snapshot = json.loads(snapshot_text)
    if path != "api/matches":
        return snapshot.get(path) if path in READ_ONLY_PATHS else None
    matches = snapshot["matches"]
    if round_no is None and status is None:
        last = max((m["round"] for m in matches), default=None)
        return {"items": [m for m in matches if m["round"] == last]}
    return {"items": [m for m in matches if (round_no is None or m["round"] == round_no)
                      and (status is None or m["status"] == status)]}
