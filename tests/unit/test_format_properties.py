"""Hypothesis over formats, sizes, options and random command sequences through the aggregate.

Whatever organizers and captains send, in any order: only domain errors come back, a refused
command changes nothing, no team plays twice in a round, every match has two distinct teams or is a
bye or void, the log replays to the same state, and playing on always finishes the event with one
champion (elimination) or a ranking of every team.
"""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.state_machine import IllegalAction
from tests.support.aggregate import Driver, snapshot
from tournament_service.tournament import DomainError

FORMAT_OPTIONS = {
    "single_elimination": st.fixed_dictionaries({"third_place_match": st.booleans()}),
    "double_elimination": st.fixed_dictionaries({"grand_final": st.sampled_from(["reset", "single", "none"])}),
    "round_robin": st.fixed_dictionaries({"allow_draws": st.booleans(), "double_round_robin": st.booleans()}),
    "swiss": st.fixed_dictionaries({"allow_draws": st.booleans(), "swiss_rounds": st.none() | st.integers(1, 5)}),
    "group_playoff": st.fixed_dictionaries({
        "groups": st.integers(1, 3), "advance_per_group": st.integers(1, 2), "third_place_match": st.booleans(),
        "allow_draws": st.booleans()}),
}


def check_invariants(t):
    slots = {}
    for match in t.matches.values():
        sides = [x for x in (match["team1_id"], match["team2_id"]) if x is not None]
        assert len(set(sides)) == len(sides), f"{match['id']} pits a team against itself"
        if match["status"] in ("completed", "reported", "disputed"):
            assert len(sides) == 2, match
        if match["status"] == "completed" and match["winner"] is not None:
            assert match["winner"] in sides
        key = (match.get("bracket"), match.get("group"), match["round"])
        for team in sides:
            assert (key, team) not in slots, f"{team} plays twice in {key}"
            slots[(key, team)] = match["id"]


def attempt(d, method, *args):
    """Run a command; a refusal must be a domain error and change nothing."""
    before = snapshot(d.t)
    try:
        d.run(method, *args)
    except (DomainError, IllegalAction):
        assert snapshot(d.t) == before
    check_invariants(d.t)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_commands_keep_every_format_consistent(data):
    format_name = data.draw(st.sampled_from(sorted(FORMAT_OPTIONS)), label="format")
    options = data.draw(FORMAT_OPTIONS[format_name], label="options")
    options["confirm_results"] = data.draw(st.booleans(), label="confirm")
    n = data.draw(st.integers(2 * options.get("groups", 1), 11), label="teams")
    d = Driver()
    d.publish(max_teams=n, format=format_name, options=options, organizer_id=99)
    ids = [d.register(f"Team {i}", captain=i) for i in range(n)]
    d.start()
    check_invariants(d.t)
    for _step in range(data.draw(st.integers(0, 25), label="steps")):
        if d.t.state != "ACTIVE":
            break
        open_matches = d.t.match_list()
        done = [m for m in d.t.matches.values() if m["status"] == "completed"]
        action = data.draw(st.sampled_from(["result", "report", "report", "abandon", "disqualify", "correct"]))
        if action in ("result", "report") and open_matches:
            match = data.draw(st.sampled_from(open_matches))
            winner = data.draw(st.sampled_from([match["team1_id"], match["team2_id"], None]))
            reporter = data.draw(st.sampled_from([match["team1_id"], match["team2_id"]])) if action == "report" else None
            attempt(d, "decide_record_result", match["id"], winner, None, reporter)
        elif action == "abandon" and open_matches:
            attempt(d, "decide_abandon", data.draw(st.sampled_from(open_matches))["id"])
        elif action == "disqualify":
            attempt(d, "decide_disqualify", data.draw(st.sampled_from(ids)))
        elif action == "correct" and done:
            match = data.draw(st.sampled_from(done))
            attempt(d, "decide_correct_result", match["id"], data.draw(
                st.sampled_from([match["team1_id"], match["team2_id"]])))
    # The organizer plays on to the end.
    for _ in range(10 * n * n):
        if d.t.state != "ACTIVE":
            break
        match = d.t.match_list()[0]
        d.result(match["id"], match["team1_id"])
        check_invariants(d.t)
    assert d.t.state == "COMPLETED"
    rows = d.t.standings()
    assert sorted(r["team_id"] for r in rows) == sorted(ids)
    assert d.t.champion is None or d.t.champion not in d.t.withdrawn
    assert [r["disqualified"] for r in rows] == sorted(r["disqualified"] for r in rows)  # last
    if format_name in ("round_robin", "swiss"):
        assert d.t.champion == (None if rows[0]["disqualified"] else rows[0]["team_id"])
    replayed = d.replay()
    assert snapshot(replayed) == snapshot(d.t)
    assert replayed.standings() == rows and replayed.bracket() == d.t.bracket()
