"""Tournament server API: bad input gets a clear error envelope and changes nothing.

The server runs in this process (`tournament_client`, see conftest.py) for a REGISTRATION tournament
with max_teams 4, min_teams 2, on the run's PostgreSQL database and Redis namespace. Every write carries
an identity freshly signed for the organizer (user 1), as the gateway sends it (tests/api/helpers.py SigningClient), so
the refusals below are about the input, not about who asks; the teams it registers are user 1's. "Nothing changed"
is checked on the state (its `seq` counts stored events), the teams, the matches, the bracket and the
standings, and on the number of events stored in the database.
"""
import json

import pytest

from tests.api.helpers import assert_error, deep_json, ok, send


def illegal(action, state):
    return f"Can't trigger event {action} from state {state}"


def register(client, name, **fields):
    return ok(send(client, "POST", "/api/teams", {"name": name, **fields}), 201)


def start_with_four(client):
    teams = [register(client, name) for name in ("Alpha", "Bravo", "Charlie", "Delta")]
    state = ok(client.post("/api/start"))
    assert state["state"] == "ACTIVE" and state["round"] == 1
    matches = ok(client.get("/api/matches"))["items"]
    assert len(matches) == 2 and all(m["status"] == "pending" for m in matches)
    return teams, matches


def test_a_fresh_server_is_in_registration(tournament_client, tournament_id, snapshot):
    """Control: the fixture's server opened its log (publish + state change) and takes teams."""
    state = snapshot()["state"]
    assert state["tournament_id"] == tournament_id and state["state"] == "REGISTRATION"
    assert state["seq"] == 2 and state["max_teams"] == 4 and state["teams_count"] == 0
    team = register(tournament_client, "  Good   Team ", seed=4, players=["p"] * 20)
    assert team["name"] == "Good Team" and team["seed"] == 4
    assert ok(tournament_client.get("/api/state"))["seq"] == 3


# ---- POST /api/teams ----------------------------------------------------------------------------

BAD_TEAMS = [
    pytest.param({"name": ""}, ["name"], id="name-empty"),
    pytest.param({"name": "   "}, ["name"], id="name-blank"),
    pytest.param({"name": "\t\n"}, ["name"], id="name-whitespace"),
    pytest.param({"name": "x" * 51}, ["name"], id="name-51"),
    pytest.param({"name": 5}, ["name"], id="name-int"),
    pytest.param({"name": None}, ["name"], id="name-null"),
    pytest.param({"name": ["Alpha"]}, ["name"], id="name-list"),
    pytest.param({}, ["name"], id="name-missing"),
    pytest.param({"name": "Alpha", "seed": 0}, ["seed"], id="seed-0"),
    pytest.param({"name": "Alpha", "seed": -1}, ["seed"], id="seed-negative"),
    pytest.param({"name": "Alpha", "seed": "1"}, ["seed"], id="seed-str"),
    pytest.param({"name": "Alpha", "seed": True}, ["seed"], id="seed-bool"),
    pytest.param({"name": "Alpha", "seed": 1.0}, ["seed"], id="seed-float"),
    pytest.param({"name": "Alpha", "seed": 99}, ["seed"], id="seed-above-max_teams"),
    pytest.param({"name": "Alpha", "seed": 5}, ["seed"], id="seed-5-of-4"),
    pytest.param({"name": "Alpha", "seed": 10 ** 30}, ["seed"], id="seed-huge"),
    pytest.param({"name": "Alpha", "players": "alice"}, ["players"], id="players-str"),
    pytest.param({"name": "Alpha", "players": {"alice": 1}}, ["players"], id="players-object"),
    pytest.param({"name": "Alpha", "players": [f"p{n}" for n in range(21)]}, ["players"], id="players-21"),
    pytest.param({"name": "Alpha", "players": [5]}, ["players"], id="players-int-name"),
    pytest.param({"name": "Alpha", "players": [""]}, ["players"], id="players-empty-name"),
    pytest.param({"name": "Alpha", "players": ["x" * 51]}, ["players"], id="players-long-name"),
    pytest.param({"name": "Alpha", "captain": "me"}, ["captain"], id="unknown-captain"),
    pytest.param({"name": "Alpha", "id": "team_9"}, ["id"], id="unknown-id"),
    pytest.param({"name": "Alpha", "colour": "red"}, ["colour"], id="unknown-field"),
    pytest.param({"name": 1, "seed": "x", "players": 2, "extra": 3}, ["name", "seed", "players", "extra"],
                 id="every-problem-at-once"),
]


@pytest.mark.parametrize("body, fields", BAD_TEAMS)
def test_register_refuses_invalid_fields_and_names_them(tournament_client, refused, body, fields):
    register(tournament_client, "Existing")
    error = refused("POST", "/api/teams", 400, body=body, code="invalid_input", fields=fields)
    assert set(error["fields"]) == set(fields)


@pytest.mark.parametrize("raw, code", [
    pytest.param('{"name":', "malformed_json", id="truncated-json"),
    pytest.param(b"\xff\xfe", "malformed_json", id="not-utf8"),
    pytest.param('["Alpha"]', "invalid_input", id="json-array"),
    pytest.param('"Alpha"', "invalid_input", id="json-string"),
    pytest.param("7", "invalid_input", id="json-number"),
])
def test_register_refuses_bodies_that_are_not_json_objects(refused, raw, code):
    refused("POST", "/api/teams", 400, raw=raw, code=code)


def test_register_refuses_deeply_nested_json_with_a_400_not_a_500(refused):
    refused("POST", "/api/teams", 400, raw=deep_json())


def test_register_refuses_a_body_over_the_size_limit_with_413(refused):
    refused("POST", "/api/teams", 413, body={"name": "Alpha", "players": ["p" * 50] * 20, "x": "y" * 70_000})


@pytest.mark.parametrize("duplicate", ["Team Alpha", "team alpha", "TEAM ALPHA", "  team   alpha ",
                                       "Team\tAlpha", "tEAM aLPHA\n"])
def test_duplicate_team_names_are_409_whatever_the_case_and_spacing(tournament_client, refused, duplicate):
    register(tournament_client, "Team Alpha")
    error = refused("POST", "/api/teams", 409, body={"name": duplicate}, code="team_name_taken", fields=["name"])
    assert error["fields"] == {"name": "is already taken in this tournament"}


def test_duplicate_of_a_name_registered_with_extra_spaces(tournament_client, refused):
    register(tournament_client, "  team   alpha ")
    refused("POST", "/api/teams", 409, body={"name": "Team Alpha"}, code="team_name_taken")


def test_a_fifth_team_is_409_tournament_full(tournament_client, refused):
    for name in ("A", "B", "C", "D"):
        register(tournament_client, name)
    refused("POST", "/api/teams", 409, body={"name": "E"}, code="tournament_full")
    refused("POST", "/api/teams", 409, body={"name": "F", "seed": 1}, code="tournament_full")


def test_a_duplicate_seed_is_409_seed_taken(tournament_client, refused):
    register(tournament_client, "Alpha", seed=1)
    error = refused("POST", "/api/teams", 409, body={"name": "Bravo", "seed": 1}, code="seed_taken",
                    fields=["seed"])
    assert "1" in error["message"]


def test_unregistering_an_unknown_team_is_404(tournament_client, refused):
    team = register(tournament_client, "Alpha")
    refused("DELETE", "/api/teams/unknown", 404, code="team_not_found")
    refused("DELETE", "/api/teams/team_99", 404, code="team_not_found")
    assert ok(tournament_client.delete(f"/api/teams/{team['id']}"), 204) is None
    refused("DELETE", f"/api/teams/{team['id']}", 404, code="team_not_found")


@pytest.mark.parametrize("teams", [0, 1])
def test_start_without_enough_teams_is_409(tournament_client, refused, teams):
    for n in range(teams):
        register(tournament_client, f"Team {n}")
    error = refused("POST", "/api/start", 409, code="not_enough_teams")
    assert str(teams) in error["message"]


def test_results_and_archive_are_refused_in_registration(tournament_client, refused):
    register(tournament_client, "Alpha")
    register(tournament_client, "Bravo")
    error = refused("POST", "/api/matches/r1_match_1/result", 409, body={"winner": "team_1"},
                    code="illegal_state", message=illegal("record_result", "REGISTRATION"))
    assert error["fields"] == {"action": "record_result", "state": "REGISTRATION"}
    refused("POST", "/api/archive", 409, code="illegal_state", message=illegal("archive", "REGISTRATION"))


# ---- results once ACTIVE ------------------------------------------------------------------------

def test_a_result_for_an_unknown_match_is_404(tournament_client, refused):
    start_with_four(tournament_client)
    refused("POST", "/api/matches/r9_match_9/result", 404, body={"winner": "team_1"}, code="match_not_found")
    refused("POST", "/api/matches/nonsense/result", 404, body={"winner": "team_1"}, code="match_not_found")


def test_a_winner_who_is_not_in_the_match_is_400(tournament_client, refused):
    teams, matches = start_with_four(tournament_client)
    match = matches[0]
    outsider = next(t["id"] for t in teams if t["id"] not in (match["team1_id"], match["team2_id"]))
    for winner in (outsider, "team_99", "Alpha"):
        refused("POST", f"/api/matches/{match['id']}/result", 400, body={"winner": winner},
                code="invalid_input", fields=["winner"])


@pytest.mark.parametrize("body", [
    pytest.param({"winner": 1}, id="int"),
    pytest.param({"winner": None}, id="null"),
    pytest.param({"winner": ""}, id="empty"),
    pytest.param({"winner": True}, id="bool"),
    pytest.param({"winner": ["team_1"]}, id="list"),
    pytest.param({"winner": {"id": "team_1"}}, id="object"),
    pytest.param({"winner": "t" * 41}, id="41-chars"),
    pytest.param({}, id="missing"),
    pytest.param({"scores": [2, 0]}, id="scores-without-winner"),
])
def test_a_winner_of_the_wrong_type_is_400(tournament_client, refused, body):
    _teams, matches = start_with_four(tournament_client)
    refused("POST", f"/api/matches/{matches[0]['id']}/result", 400, body=body, code="invalid_input",
            fields=["winner"])


@pytest.mark.parametrize("scores", [
    pytest.param([1], id="one"),
    pytest.param([], id="none"),
    pytest.param([1, 2, 3], id="three"),
    pytest.param([1, "2"], id="string"),
    pytest.param([-1, 0], id="negative"),
    pytest.param([1001, 0], id="over-1000"),
    pytest.param([1.0, 0], id="float"),
    pytest.param([True, False], id="bools"),
    pytest.param([None, 0], id="null-score"),
    pytest.param("2-1", id="text"),
    pytest.param({"team1": 2, "team2": 1}, id="object"),
    pytest.param(3, id="number"),
])
def test_malformed_scores_are_400(tournament_client, refused, scores):
    _teams, matches = start_with_four(tournament_client)
    match = matches[0]
    refused("POST", f"/api/matches/{match['id']}/result", 400, body={"winner": match["team1_id"], "scores": scores},
            code="invalid_input", fields=["scores"])


@pytest.mark.parametrize("scores", [[0, 2], [1, 1], [0, 0]])
def test_scores_that_do_not_favour_the_winner_are_400(tournament_client, refused, scores):
    _teams, matches = start_with_four(tournament_client)
    match = matches[0]
    refused("POST", f"/api/matches/{match['id']}/result", 400,
            body={"winner": match["team1_id"], "scores": scores}, code="invalid_input", fields=["scores"])
    # Control: scores that do favour the winner are taken.
    recorded = ok(send(tournament_client, "POST", f"/api/matches/{match['id']}/result",
                       {"winner": match["team2_id"], "scores": [0, 2]}))
    assert recorded["status"] == "completed" and recorded["winner"] == match["team2_id"]


def test_an_unknown_field_in_a_result_is_400(tournament_client, refused):
    _teams, matches = start_with_four(tournament_client)
    match = matches[0]
    refused("POST", f"/api/matches/{match['id']}/result", 400, body={"winner": match["team1_id"], "mvp": "me"},
            code="invalid_input", fields=["mvp"])
    refused("POST", f"/api/matches/{match['id']}/result", 400, raw='{"winner":', code="malformed_json")
    refused("POST", f"/api/matches/{match['id']}/result", 400, raw=json.dumps([match["team1_id"]]),
            code="invalid_input")


def test_results_on_matches_that_cannot_take_one_are_409(tournament_client, refused):
    _teams, matches = start_with_four(tournament_client)
    first = matches[0]
    recorded = ok(send(tournament_client, "POST", f"/api/matches/{first['id']}/result",
                       {"winner": first["team1_id"], "scores": [2, 1]}))
    assert recorded["status"] == "completed"
    # The final waits for the winner of the other semifinal.
    error = refused("POST", "/api/matches/r2_match_1/result", 409, body={"winner": first["team1_id"]},
                    code="match_not_ready")
    assert "waiting for its teams" in error["message"]
    second = matches[1]
    ok(send(tournament_client, "POST", f"/api/matches/{second['id']}/result", {"winner": second["team2_id"]}))
    assert ok(tournament_client.get("/api/state"))["round"] == 2
    # The organizer's result on a completed match is a correction; once the final that depends on
    # it is played, the correction is refused and names the match in the way.
    final = ok(tournament_client.get("/api/matches"))["items"][0]
    ok(send(tournament_client, "POST", f"/api/matches/{final['id']}/result", {"winner": final["team1_id"]}))
    refused("POST", f"/api/matches/{first['id']}/result", 409, body={"winner": first["team2_id"]},
            message="Can't trigger event record_result from state COMPLETED")


def test_a_correction_is_409_once_a_dependent_match_is_played(tournament_client, refused):
    teams = [register(tournament_client, f"Team {n}") for n in range(1, 5)]
    ok(send(tournament_client, "POST", "/api/start"))
    r1 = ok(tournament_client.get("/api/matches?round=1"))["items"]
    for match in r1:
        ok(send(tournament_client, "POST", f"/api/matches/{match['id']}/result", {"winner": match["team1_id"]}))
    assert len(teams) == 4
    # Nothing depends on the semifinal yet: the correction goes through and reaches the final.
    corrected = ok(send(tournament_client, "POST", f"/api/matches/{r1[0]['id']}/result",
                        {"winner": r1[0]["team2_id"]}))
    assert corrected["winner"] == r1[0]["team2_id"] and corrected["status"] == "completed"
    final = ok(tournament_client.get("/api/matches"))["items"][0]
    assert final["team1_id"] == r1[0]["team2_id"]
    # The same result again changes nothing.
    before = ok(tournament_client.get("/api/state"))["seq"]
    ok(send(tournament_client, "POST", f"/api/matches/{r1[0]['id']}/result", {"winner": r1[0]["team2_id"]}))
    assert ok(tournament_client.get("/api/state"))["seq"] == before


def test_registration_commands_are_409_once_active(tournament_client, refused):
    teams, _matches = start_with_four(tournament_client)
    refused("POST", "/api/teams", 409, body={"name": "Late Team"}, code="illegal_state",
            message=illegal("register_team", "ACTIVE"))
    refused("DELETE", f"/api/teams/{teams[0]['id']}", 409, code="illegal_state",
            message=illegal("unregister", "ACTIVE"))
    refused("DELETE", "/api/teams/unknown", 409, code="illegal_state", message=illegal("unregister", "ACTIVE"))
    refused("POST", "/api/start", 409, code="illegal_state", message=illegal("start", "ACTIVE"))
    refused("POST", "/api/archive", 409, code="illegal_state", message=illegal("archive", "ACTIVE"))


def test_a_completed_tournament_refuses_results_and_registration(tournament_client, refused):
    _teams, matches = start_with_four(tournament_client)
    for match in matches:
        ok(send(tournament_client, "POST", f"/api/matches/{match['id']}/result", {"winner": match["team1_id"]}))
    final = ok(tournament_client.get("/api/matches"))["items"]
    assert [m["id"] for m in final] == ["r2_match_1"]
    ok(send(tournament_client, "POST", "/api/matches/r2_match_1/result", {"winner": final[0]["team1_id"]}))
    assert ok(tournament_client.get("/api/state"))["state"] == "COMPLETED"
    refused("POST", "/api/matches/r2_match_1/result", 409, body={"winner": final[0]["team2_id"]},
            message=illegal("record_result", "COMPLETED"))
    refused("POST", "/api/teams", 409, body={"name": "Late"}, message=illegal("register_team", "COMPLETED"))
    refused("POST", "/api/start", 409, message=illegal("start", "COMPLETED"))
    refused("POST", "/api/cancel", 409, message=illegal("cancel", "COMPLETED"))


# ---- queries ------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, field", [
    ("round=0", "round"),
    ("round=x", "round"),
    ("round=-1", "round"),
    ("round=1.5", "round"),
    ("round=", "round"),
    ("round=%C2%B2", "round"),  # a superscript two: str.isdigit() says yes, int() says no
    ("status=weird", "status"),
    ("status=PENDING", "status"),
    ("status=", "status"),
])
def test_bad_match_queries_are_400(tournament_client, refused, query, field):
    start_with_four(tournament_client)
    refused("GET", f"/api/matches?{query}", 400, code="invalid_input", fields=[field])


def test_good_match_queries_answer(tournament_client):
    """Control for the refusals above."""
    _teams, matches = start_with_four(tournament_client)
    assert ok(tournament_client.get("/api/matches?round=1"))["items"] == matches
    # The final exists from the start, waiting for its teams.
    final = ok(tournament_client.get("/api/matches?round=2"))["items"]
    assert [(m["id"], m["team1_id"], m["team2_id"], m["status"]) for m in final] == [
        ("r2_match_1", None, None, "pending")]
    assert ok(tournament_client.get("/api/matches?status=pending"))["items"] == matches + final
    assert ok(tournament_client.get("/api/matches?status=disputed"))["items"] == []


@pytest.mark.parametrize("value", ["abc", "-1", "1.5"])
def test_bad_last_event_id_on_the_event_feed_is_400(tournament_client, value):
    response = tournament_client.get("/api/events", headers={"Last-Event-ID": value}, buffered=False)
    try:
        assert response.status_code != 200, "opened a stream instead of refusing"
        assert_error(response, 400, "invalid_input", ["Last-Event-ID"])
    finally:
        response.close()


# ---- routing ------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path, status, code", [
    ("GET", "/api/nope", 404, "not_found"),
    ("GET", "/nope/deeper", 404, "not_found"),
    ("PUT", "/api/teams", 405, "method_not_allowed"),
    ("GET", "/api/start", 405, "method_not_allowed"),
    ("GET", "/api/matches/r1_match_1/result", 405, "method_not_allowed"),
    ("POST", "/api/state", 405, "method_not_allowed"),
])
def test_unknown_routes_and_methods_are_envelopes(refused, method, path, status, code):
    refused(method, path, status, body={"name": "Alpha"} if method != "GET" else None, code=code)
