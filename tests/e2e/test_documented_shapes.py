"""Every format played to its champion through a real orchestrator, each answer checked against the
OpenAPI document: the shapes it promises are the shapes the code returns, in every phase."""
import requests
import schemathesis

from tests.support.api import ok

FORMATS = [
    ("single_elimination", {"third_place_match": True}),
    ("double_elimination", {"grand_final": "reset"}),
    ("round_robin", {"allow_draws": True}),
    ("swiss", {"swiss_rounds": 2}),
    ("group_playoff", {"groups": 2, "advance_per_group": 1}),
]


class DocumentedClient:
    """Calls the API as `api` does, and validates each answer against its documented operation."""

    def __init__(self, api):
        self.api = api
        self.schema = schemathesis.openapi.from_dict(requests.get(api.url("/api/v1/openapi.json"), timeout=30).json())
        self.checked = set()

    def call(self, method, template, status=200, json=None, params=None, **ids):
        path = template.format(**ids)
        response = self.api.session.request(method, self.api.url(path), json=json, params=params, timeout=30)
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text[:300]}"
        self.schema[template][method].validate_response(response)
        self.checked.add(f"{method} {template}")
        return response.json() if response.content else None


def test_every_answer_of_a_whole_tournament_is_as_documented_in_every_format(api):
    documented = DocumentedClient(api)  # one orchestrator for all formats: each start costs seconds
    for fmt, options in FORMATS:
        play_through(documented, fmt, options)
    assert len(documented.checked) >= 17


def play_through(documented, fmt, options):
    """Create, publish, fill, start, play, archive and read one tournament of `fmt`."""
    call = documented.call
    tournament = call("POST", "/api/v1/tournaments", 201, json={"name": f"Shapes {fmt}", "game": "chess",
                                                                "format": fmt, "max_teams": 4, "min_teams": 4,
                                                                "best_of": 3, **options})
    tid = tournament["id"]
    call("PATCH", "/api/v1/tournaments/{tournament_id}", json={"description": "Checked shapes"}, tournament_id=tid)
    call("POST", "/api/v1/tournaments/{tournament_id}/publish", tournament_id=tid)
    for number in range(1, 5):
        call("POST", "/t/{tournament_id}/api/teams", 201, json={"name": f"Team {number}", "players": ["A"]},
             tournament_id=tid)
    message = call("POST", "/api/v1/tournaments/{tournament_id}/chat", 201, json={"body": f"Good luck, {fmt}!"},
                   tournament_id=tid)
    call("GET", "/api/v1/tournaments/{tournament_id}/chat", tournament_id=tid)
    call("DELETE", "/api/v1/tournaments/{tournament_id}/chat/{seq}", 204, tournament_id=tid, seq=message["seq"])
    for template in ("/t/{tournament_id}/api/state", "/t/{tournament_id}/api/standings",
                     "/t/{tournament_id}/api/bracket", "/api/v1/tournaments/{tournament_id}/teams"):
        call("GET", template, tournament_id=tid)
    call("POST", "/t/{tournament_id}/api/start", tournament_id=tid)
    for _ in range(40):
        open_matches = call("GET", "/t/{tournament_id}/api/matches", tournament_id=tid)["items"]
        if not open_matches:
            break
        match = open_matches[0]
        call("GET", "/t/{tournament_id}/api/matches", params={"round": match["round"], "status": "pending"},
             tournament_id=tid)
        call("GET", "/t/{tournament_id}/api/standings", tournament_id=tid)
        call("GET", "/t/{tournament_id}/api/bracket", tournament_id=tid)
        # Scores in the match's team order: team2 wins 1-2.
        call("POST", "/t/{tournament_id}/api/matches/{match_id}/result",
             json={"winner": match["team2_id"], "scores": [1, 2]}, tournament_id=tid, match_id=match["id"])
    state = call("GET", "/t/{tournament_id}/api/state", tournament_id=tid)
    assert state["state"] == "COMPLETED", fmt
    call("GET", "/api/v1/tournaments", params={"state": "COMPLETED"})
    call("POST", "/api/v1/tournaments/{tournament_id}/archive", tournament_id=tid)
    for template in ("/t/{tournament_id}/api/state", "/t/{tournament_id}/api/standings",
                     "/t/{tournament_id}/api/bracket", "/t/{tournament_id}/api/matches",
                     "/api/v1/tournaments/{tournament_id}"):
        call("GET", template, tournament_id=tid)
