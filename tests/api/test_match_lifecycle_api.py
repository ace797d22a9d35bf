"""The match lifecycle through a real tournament server's API: captains report, the opponent
confirms or disputes, the organizer settles, corrects, abandons and disqualifies; check-in.

Each tournament server runs in this process on the run's PostgreSQL and Redis (see conftest.py);
writes carry identities signed as the gateway signs them, switched per request with `as_user`.
"""
import pytest

from tests.api.helpers import ORGANIZER, assert_error, ok, send


def as_user(client, user_id):
    """From now on `client` writes as user `user_id`, a plain user (the organizer is user 1)."""
    client.identity = ((ORGANIZER, ["organizer"]) if user_id == ORGANIZER["id"]
                       else ({"id": user_id, "username": f"user{user_id}"}, []))
    return client


def post(client, path, body=None, user=ORGANIZER["id"]):
    return send(as_user(client, user), "POST", path, body if body is not None else {})


def four_captains(client):
    """Four teams, team_k registered by user k + 1, then the start; the round-1 matches."""
    for user in (2, 3, 4, 5):
        ok(post(client, "/api/teams", {"name": f"Team of {user}"}, user=user), 201)
    ok(post(client, "/api/start"))
    return ok(client.get("/api/matches"))["items"]


def captain_of(client, team_id):
    return next(t["captain"] for t in ok(client.get("/api/teams"))["items"] if t["id"] == team_id)


def test_report_confirm_dispute_and_the_organizers_word(make_server):
    client = make_server(max_teams=4)
    first, second = four_captains(client)
    a, b = captain_of(client, first["team1_id"]), captain_of(client, first["team2_id"])
    path = f"/api/matches/{first['id']}/result"

    reported = ok(post(client, path, {"winner": first["team1_id"], "scores": [2, 0]}, user=a))
    assert reported["status"] == "reported"
    assert reported["reports"] == {first["team1_id"]: {"winner": first["team1_id"], "scores": [2, 0]}}
    # A captain of another match can't report this one.
    other = captain_of(client, second["team1_id"])
    assert_error(post(client, path, {"winner": first["team1_id"]}, user=other), 403, code="forbidden")
    confirmed = ok(post(client, path, {"winner": first["team1_id"]}, user=b))
    assert confirmed["status"] == "completed" and confirmed["scores"] == [2, 0]
    assert_error(post(client, path, {"winner": first["team1_id"]}, user=b), 409, code="match_not_pending")

    path = f"/api/matches/{second['id']}/result"
    c, d = captain_of(client, second["team1_id"]), captain_of(client, second["team2_id"])
    ok(post(client, path, {"winner": second["team1_id"]}, user=c))
    disputed = ok(post(client, path, {"winner": second["team2_id"]}, user=d))
    assert disputed["status"] == "disputed"
    error = assert_error(post(client, path, {"winner": second["team2_id"]}, user=c), 409, code="match_disputed")
    assert "organizer" in error["message"]
    settled = ok(post(client, path, {"winner": second["team2_id"]}))
    assert settled["status"] == "completed" and settled["winner"] == second["team2_id"]
    final = ok(client.get("/api/matches"))["items"]
    assert [(m["team1_id"], m["team2_id"]) for m in final] == [(first["team1_id"], second["team2_id"])]


def test_no_confirmation_needed_when_the_organizer_says_so(make_server):
    client = make_server(max_teams=4, options={"confirm_results": False})
    match = four_captains(client)[0]
    done = ok(post(client, f"/api/matches/{match['id']}/result", {"winner": match["team2_id"]},
                   user=captain_of(client, match["team1_id"])))
    assert done["status"] == "completed"


def test_best_of_three_scores_are_checked(make_server):
    client = make_server(max_teams=4, best_of=3)
    match = four_captains(client)[0]
    path = f"/api/matches/{match['id']}/result"
    error = assert_error(post(client, path, {"winner": match["team1_id"], "scores": [3, 0]}), 400,
                         code="invalid_input", fields=["scores"])
    assert "best-of-3" in error["fields"]["scores"]
    assert_error(post(client, path, {"winner": None}), 400, code="invalid_input", fields=["winner"])
    assert ok(post(client, path, {"winner": match["team1_id"], "scores": [2, 1]}))["status"] == "completed"


def test_abandon_and_disqualify(make_server):
    client = make_server(max_teams=4)
    assert_error(post(client, "/api/teams/team_1/disqualify"), 409, code="illegal_state")
    first, second = four_captains(client)
    captain = captain_of(client, first["team1_id"])
    assert_error(post(client, f"/api/matches/{first['id']}/abandon", user=captain), 403, code="forbidden")
    assert_error(post(client, f"/api/matches/{first['id']}/abandon", {"why": "rain"}), 400, code="invalid_input")
    abandoned = ok(post(client, f"/api/matches/{first['id']}/abandon"))
    assert abandoned["status"] == "void"
    assert_error(post(client, f"/api/matches/{first['id']}/abandon"), 409, code="match_not_pending")
    assert_error(post(client, "/api/matches/r2_match_1/abandon"), 409, code="match_not_ready")
    assert_error(post(client, "/api/matches/nope/abandon"), 404, code="match_not_found")

    assert_error(post(client, "/api/teams/team_99/disqualify"), 404, code="team_not_found")
    out = ok(post(client, f"/api/teams/{second['team2_id']}/disqualify"))
    assert out["disqualified"] is True
    # The forfeit sent the opponent on; the final was a bye, so the event is over.
    state = ok(client.get("/api/state"))
    assert state["state"] == "COMPLETED" and state["champion"] == second["team1_id"]
    standings = ok(client.get("/api/standings"))["items"]
    assert standings[-1]["team_id"] == second["team2_id"] and standings[-1]["disqualified"] is True
    assert_error(post(client, f"/api/teams/{second['team2_id']}/disqualify"), 409, code="illegal_state")


def test_check_in(make_server):
    client = make_server(max_teams=4, options={"check_in": True})
    teams = [ok(post(client, "/api/teams", {"name": f"Team of {u}"}, user=u), 201) for u in (2, 3, 4)]
    assert all(team["checked_in"] is False for team in ok(client.get("/api/teams"))["items"])
    assert_error(post(client, f"/api/teams/{teams[0]['id']}/check-in", user=3), 403, code="forbidden")
    checked = ok(post(client, f"/api/teams/{teams[0]['id']}/check-in", user=2))
    assert checked["checked_in"] is True
    ok(post(client, f"/api/teams/{teams[0]['id']}/check-in", user=2))  # again: no harm
    ok(post(client, f"/api/teams/{teams[2]['id']}/check-in"))  # the organizer may do it for a team
    assert_error(post(client, "/api/teams/team_9/check-in", user=2), 404, code="team_not_found")
    ok(post(client, "/api/start"))
    assert [t["id"] for t in ok(client.get("/api/teams"))["items"]] == [teams[0]["id"], teams[2]["id"]]
    assert_error(post(client, f"/api/teams/{teams[0]['id']}/check-in", user=2), 409, code="illegal_state")


def test_check_in_when_not_used_is_409(make_server):
    client = make_server(max_teams=4)
    team = ok(post(client, "/api/teams", {"name": "Solo"}, user=2), 201)
    assert_error(post(client, f"/api/teams/{team['id']}/check-in", user=2), 409, code="check_in_not_required")


@pytest.mark.parametrize("fmt, options", [
    ("double_elimination", {"grand_final": "reset"}),
    ("round_robin", {"allow_draws": True}),
    ("swiss", {}),
    ("group_playoff", {"groups": 2, "advance_per_group": 1}),
])
def test_every_format_plays_to_a_champion_over_http(make_server, fmt, options):
    client = make_server(max_teams=4, format=fmt, options=options, min_teams=4)
    four_captains(client)
    for _ in range(40):
        if ok(client.get("/api/state"))["state"] != "ACTIVE":
            break
        match = ok(client.get("/api/matches"))["items"][0]
        ok(post(client, f"/api/matches/{match['id']}/result", {"winner": match["team1_id"]}))
    state = ok(client.get("/api/state"))
    assert state["state"] == "COMPLETED" and state["champion"]
    assert state["options"] == {**state["options"], **options}
    bracket = ok(client.get("/api/bracket"))
    assert bracket["format"] == fmt and bracket["sections"]
    assert ok(client.get("/api/standings"))["items"][0]["team_id"] == state["champion"]


def test_a_captain_drops_its_swiss_team_and_the_standings_say_how_they_rank(make_server):
    client = make_server(max_teams=4, format="swiss", options={"tiebreaks": ["buchholz", "seed"]})
    four_captains(client)
    standings = ok(client.get("/api/standings"))
    assert standings["ranked_by"] == "points" and standings["tiebreaks"] == ["buchholz", "seed"]
    assert standings["points"] == {"win": 3, "draw": 1, "loss": 0}
    team = ok(client.get("/api/teams"))["items"][0]
    assert_error(post(client, f"/api/teams/{team['id']}/drop", user=3), 403, code="forbidden")
    dropped = ok(post(client, f"/api/teams/{team['id']}/drop", user=team["captain"]))
    assert dropped["dropped"] is True
    assert_error(post(client, f"/api/teams/{team['id']}/drop", user=team["captain"]), 409, code="already_dropped")
    assert all(team["id"] not in (m["team1_id"], m["team2_id"]) for m in ok(client.get("/api/matches"))["items"])


def test_elimination_standings_say_they_rank_by_the_round_reached(make_server):
    client = make_server(max_teams=4)
    four_captains(client)
    assert ok(client.get("/api/standings"))["ranked_by"] == "round_reached"
