"""The leaderboard from tournaments played on real tournament servers, through a real orchestrator:
the log as a server writes it, a correction made while ACTIVE, the registry's COMPLETED mirror."""
import time
import uuid

from openskill.models import PlackettLuce

from tests.support.api import make_tournament, ok, play_round


def wait_for_state(api, tournament_id, state, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ok(api.get(f"/api/v1/tournaments/{tournament_id}"))["state"] == state:
            return
        time.sleep(0.1)
    raise AssertionError(f"{tournament_id} never became {state}")


def test_a_played_tournament_with_a_correction_rates_its_final_results(orchestrator):
    api, game = orchestrator.api, "live " + uuid.uuid4().hex[:8]
    tid = make_tournament(api, "ACTIVE", teams=4, max_teams=4, game=game)["id"]
    names = {t["id"]: t["name"] for t in ok(api.get(f"/t/{tid}/api/teams"))["items"]}
    semis = play_round(api, tid)  # team1 wins both semifinals
    assert ok(api.get("/api/v1/leaderboard", params={"game": game}))["items"] == []  # ACTIVE: not yet
    # The organizer corrects the first semifinal before the final is played: its team2 won.
    first = ok(api.get(f"/t/{tid}/api/matches", params={"round": 1}))["items"][0]
    ok(api.post(f"/t/{tid}/api/matches/{first['id']}/result", {"winner": first["team2_id"]}))
    play_round(api, tid)  # the final: its team1 wins
    wait_for_state(api, tid, "COMPLETED")

    matches = {m["id"]: m for m in ok(api.get(f"/t/{tid}/api/matches", params={"status": "completed"}))["items"]}
    assert matches[first["id"]]["winner"] == first["team2_id"] and len(matches) == 3 and len(semis) == 2
    model = PlackettLuce()
    rating = {name: model.rating() for name in names.values()}
    for match in sorted(matches.values(), key=lambda m: m["round"]):  # the semifinals, then the final
        one, two = names[match["team1_id"]], names[match["team2_id"]]
        ranks = [0, 1] if match["winner"] == match["team1_id"] else [1, 0]
        [[rating[one]], [rating[two]]] = model.rate([[rating[one]], [rating[two]]], ranks=ranks)

    items = ok(api.get("/api/v1/leaderboard", params={"game": game}))["items"]

    expected = sorted(rating.items(), key=lambda item: -item[1].mu)
    assert [item["team"] for item in items] == [name for name, _ in expected]
    for item, (_name, skill) in zip(items, expected):
        assert abs(item["mu"] - skill.mu) < 1e-9 and abs(item["sigma"] - skill.sigma) < 1e-9
    # Archived, it still counts, from the same log.
    ok(api.post(f"/api/v1/tournaments/{tid}/archive"))
    assert ok(api.get("/api/v1/leaderboard", params={"game": game}))["items"] == items
