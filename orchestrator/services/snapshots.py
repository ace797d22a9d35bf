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

    bracket = read("/api/bracket")
    # The bracket holds every match of every format, played or not: the matches view is cut from it.
    matches = [match for section in bracket.get("sections", []) for match in section["matches"]]
    return json.dumps({"api/state": summary, "api/teams": read("/api/teams"), "matches": matches,
                       "api/standings": read("/api/standings"), "api/bracket": bracket})


def view(snapshot_text, path, round_no=None, status=None):
    """The stored answer for GET `path`, or None when the snapshot has no such view."""
    snapshot = json.loads(snapshot_text)
    if path != "api/matches":
        return snapshot.get(path) if path in READ_ONLY_PATHS else None
    matches = snapshot["matches"]
    if round_no is None and status is None:
        # As the server answers: the matches that could be played (left open by a cancel).
        return {"items": [m for m in matches if m["status"] in ("pending", "reported", "disputed")
                          and m["team1_id"] is not None and m["team2_id"] is not None]}
    return {"items": [m for m in matches if (round_no is None or m["round"] == round_no)
                      and (status is None or m["status"] == status)]}
