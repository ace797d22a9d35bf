"""The registry's record of a tournament names its champion once the tournament's log does."""
from tests.support.api import make_tournament, ok
from tests.support.processes import wait_until


def test_the_tournament_record_shows_its_champion_once_there_is_one(api):
    tournament = make_tournament(api, state="ACTIVE", teams=2, name="Final Cup")
    tid, gateway = tournament["id"], f"/t/{tournament['id']}"
    assert ok(api.get(f"/api/v1/tournaments/{tid}"))["champion"] is None

    final = ok(api.get(f"{gateway}/api/matches"))["items"][0]
    ok(api.post(f"{gateway}/api/matches/{final['id']}/result", {"winner": final["team2_id"], "scores": [0, 1]}))
    assert ok(api.get(f"{gateway}/api/state"))["state"] == "COMPLETED"

    winner = next(team for team in ok(api.get(f"{gateway}/api/teams"))["items"] if team["id"] == final["team2_id"])
    expected = {"team_id": winner["id"], "name": winner["name"]}
    # The registry's state mirror follows the server's log a moment later.
    assert wait_until(lambda: ok(api.get(f"/api/v1/tournaments/{tid}"))["state"] == "COMPLETED")
    assert ok(api.get(f"/api/v1/tournaments/{tid}"))["champion"] == expected
    listed = ok(api.get("/api/v1/tournaments", params={"state": "COMPLETED"}))["items"]
    assert next(t for t in listed if t["id"] == tid)["champion"] == expected

    ok(api.post(f"/api/v1/tournaments/{tid}/archive"))
    assert ok(api.get(f"/api/v1/tournaments/{tid}"))["champion"] == expected


def test_a_cancelled_tournament_has_no_champion(api):
    tournament = make_tournament(api, state="ACTIVE", teams=2, name="Called Off Cup")
    assert ok(api.post(f"/api/v1/tournaments/{tournament['id']}/cancel"))["champion"] is None
