"""Every wired format and the match lifecycle, driven through the Tournament aggregate.

Each case checks what a user of that feature would see (who plays whom, who wins, the standings)
and that replaying the log gives back the same state.
"""
import pytest

from shared.state_machine import IllegalAction
from tests.support.aggregate import Driver, assert_refused
from tournament_service.tournament import DomainError


def started(n, captains=False, **options):
    """A started tournament of `n` teams (team i captained by user i when `captains`)."""
    fields = {key: options.pop(key) for key in ("format", "best_of") if key in options}
    d = Driver()
    d.publish(max_teams=max(n, 2), options=options, organizer_id=99, **fields)
    ids = [d.register(f"Team {i}", captain=i if captains else None) for i in range(1, n + 1)]
    d.start()
    return d, ids


def play_out(d, pick):
    """Record `pick(match)` for every playable match until the tournament is over."""
    while d.t.state == "ACTIVE":
        matches = d.t.match_list()
        assert matches, "an ACTIVE tournament with nothing left to play"
        d.result(matches[0]["id"], pick(matches[0]))


def seed_of(d):
    return {t: i for i, t in enumerate(d.t.seeded_team_ids, start=1)}


def better(d):
    seed = seed_of(d)
    return lambda m: min(m["team1_id"], m["team2_id"], key=seed.__getitem__)


def worse(d):
    seed = seed_of(d)
    return lambda m: max(m["team1_id"], m["team2_id"], key=seed.__getitem__)


def assert_replays(d):
    replayed = d.replay()
    assert replayed.matches == d.t.matches
    assert replayed.summary() == d.t.summary()
    assert replayed.standings() == d.t.standings()
    assert replayed.bracket() == d.t.bracket()


# ---- double elimination -------------------------------------------------------------------------


def test_double_elimination_of_eight_played_by_the_better_seed():
    d, ids = started(8, format="double_elimination")
    assert len(d.t.matches) == 7 + 6 + 2  # winners', losers' (2*(3-1) rounds: 2+2+1+1), grand final x2
    play_out(d, better(d))
    assert d.t.champion == ids[0] and d.t.state == "COMPLETED"
    # The winners' champion won the first grand final: no reset.
    assert d.t.matches["gf_1"]["winner"] == ids[0] and d.t.matches["gf_2"]["status"] == "void"
    rows = d.t.standings()
    assert [(r["team_id"], r["rank"]) for r in rows[:3]] == [(ids[0], 1), (ids[1], 2), (ids[2], 3)]
    assert_replays(d)


def test_double_elimination_grand_final_resets_when_the_losers_side_wins():
    d, ids = started(4, format="double_elimination")
    pick = better(d)
    while "gf_1" not in {m["id"] for m in d.t.match_list()}:
        match = d.t.match_list()[0]
        d.result(match["id"], pick(match))
    gf = d.t.matches["gf_1"]
    assert gf["team1_id"] == ids[0]  # unbeaten
    produced = d.result("gf_1", gf["team2_id"])
    assert "tournament_completed" not in [e["type"] for e in produced]
    reset = d.t.matches["gf_2"]
    assert {reset["team1_id"], reset["team2_id"]} == {ids[0], gf["team2_id"]} and reset["status"] == "pending"
    d.result("gf_2", ids[0])
    assert d.t.state == "COMPLETED" and d.t.champion == ids[0]
    assert_replays(d)


@pytest.mark.parametrize("grand_final, matches", [("single", 6), ("none", 5)])
def test_double_elimination_grand_final_modes(grand_final, matches):
    d, ids = started(4, format="double_elimination", grand_final=grand_final)
    assert len(d.t.matches) == matches
    play_out(d, worse(d))
    assert d.t.state == "COMPLETED" and d.t.champion in ids


# ---- round robin --------------------------------------------------------------------------------


def test_round_robin_with_draws_ranks_by_points():
    d, ids = started(4, format="round_robin", allow_draws=True)
    assert len(d.t.matches) == 2  # round 1: each round is made when it begins
    a, b, c, dd = ids
    results = {frozenset((a, b)): a, frozenset((a, c)): None, frozenset((a, dd)): a,
               frozenset((b, c)): b, frozenset((b, dd)): None, frozenset((c, dd)): c}
    play_out(d, lambda m: results[frozenset((m["team1_id"], m["team2_id"]))])
    assert len(d.t.matches) == 6
    rows = d.t.standings()
    # a: W D W = 7, b: L W D = 4, c: D L W = 4, d: L D L = 1; b beat c head to head.
    assert [(r["team_id"], r["points"], r["rank"]) for r in rows] == [(a, 7, 1), (b, 4, 2), (c, 4, 3), (dd, 1, 4)]
    assert d.t.champion == a
    assert_replays(d)


def test_round_robin_refuses_a_draw_unless_allowed():
    d, _ids = started(4, format="round_robin")
    match = d.t.match_list()[0]
    error = assert_refused(d.t, lambda: d.t.decide_record_result(match["id"], None), DomainError, 400)
    assert "draw" in error.fields["winner"]


def test_round_robin_double_plays_every_pair_twice_with_sides_swapped():
    d, _ids = started(3, format="round_robin", double_round_robin=True)
    play_out(d, better(d))
    real = [m for m in d.t.matches.values() if m["team2_id"] is not None]
    assert len(real) == 6
    assert len({(m["team1_id"], m["team2_id"]) for m in real}) == 6


def test_round_robin_custom_points_and_tiebreaks_are_used():
    d, ids = started(3, format="round_robin", points={"win": 2, "draw": 1, "loss": 0}, tiebreaks=["seed"])
    play_out(d, better(d))
    rows = d.t.standings()
    assert [r["points"] for r in rows] == [4, 2, 0]
    assert list(rows[0]["tiebreaks"]) == ["seed"]


# ---- best-of ------------------------------------------------------------------------------------


def test_best_of_three_scores_must_be_a_finished_series():
    d, _ids = started(4, best_of=3)
    match = d.t.match_list()[0]
    t1 = match["team1_id"]
    for scores in ([3, 1], [1, 0], [2, 2], [1, 2], [3, 2]):
        assert_refused(d.t, lambda: d.t.decide_record_result(match["id"], t1, scores), DomainError, 400)
    d.result(match["id"], t1, [2, 1])
    assert d.t.matches[match["id"]]["scores"] == [2, 1]


def test_final_best_of_applies_to_the_final_only():
    d, _ids = started(4, best_of=1, final_best_of=5)
    for match in d.t.match_list():
        d.result(match["id"], match["team1_id"], [1, 0])
    final = d.t.match_list()[0]
    assert d.t.best_of(final["id"]) == 5
    assert_refused(d.t, lambda: d.t.decide_record_result(final["id"], final["team1_id"], [1, 0]), DomainError, 400)
    d.result(final["id"], final["team1_id"], [3, 2])
    assert d.t.state == "COMPLETED"


# ---- two-sided reporting ------------------------------------------------------------------------


def test_matching_reports_complete_the_match():
    d, ids = started(4, captains=True)
    match = d.t.match_list()[0]
    t1, t2 = match["team1_id"], match["team2_id"]
    produced = d.result(match["id"], t1, [1, 0], reporter=t1)
    assert [e["type"] for e in produced] == ["match_reported"]
    assert d.t.matches[match["id"]]["status"] == "reported"
    # The reporter may change its own report while the opponent has not answered.
    d.result(match["id"], t1, [2, 0], reporter=t1)
    produced = d.result(match["id"], t1, [2, 0], reporter=t2)
    assert produced[0]["type"] == "match_result" and produced[0]["confirmed_by"] == t2
    assert d.t.matches[match["id"]]["status"] == "completed"
    assert d.t.matches[match["id"]]["reports"] == {t1: {"winner": t1, "scores": [2, 0]},
                                                   t2: {"winner": t1, "scores": [2, 0]}}
    assert_replays(d)


def test_differing_reports_are_disputed_until_the_organizer_decides():
    d, _ids = started(4, captains=True)
    match = d.t.match_list()[0]
    t1, t2 = match["team1_id"], match["team2_id"]
    d.result(match["id"], t1, reporter=t1)
    produced = d.result(match["id"], t2, reporter=t2)
    assert [e["type"] for e in produced] == ["match_disputed"]
    assert d.t.matches[match["id"]]["status"] == "disputed"
    error = assert_refused(d.t, lambda: d.t.decide_record_result(match["id"], t1, None, t1), DomainError, 409,
                           "match_disputed")
    assert "organizer" in error.message
    # The organizer's result is final and settles the dispute.
    d.result(match["id"], t2)
    assert d.t.matches[match["id"]]["status"] == "completed" and d.t.matches[match["id"]]["winner"] == t2
    assert_replays(d)


def test_without_confirmation_a_captains_report_is_final():
    d, _ids = started(4, captains=True, confirm_results=False)
    match = d.t.match_list()[0]
    d.result(match["id"], match["team2_id"], reporter=match["team1_id"])
    assert d.t.matches[match["id"]]["status"] == "completed"


# ---- forfeits, disqualification, abandoned matches ---------------------------------------------


def test_abandoned_match_gives_the_next_opponent_a_bye():
    d, ids = started(4)
    first, second = d.t.match_list()
    d.run("decide_abandon", first["id"])
    assert d.t.matches[first["id"]]["status"] == "void"
    d.result(second["id"], second["team1_id"])
    # Nobody came out of the first semifinal: the other finalist wins the final by a bye.
    final = d.t.matches["r2_match_1"]
    assert final["status"] == "bye" and final["winner"] == second["team1_id"]
    assert d.t.state == "COMPLETED" and d.t.champion == second["team1_id"]
    assert_replays(d)


def test_disqualified_team_forfeits_its_match_in_elimination():
    d, ids = started(4)
    match = d.t.match_list()[0]
    out = match["team2_id"]
    produced = d.run("decide_disqualify", out)
    assert [e["type"] for e in produced] == ["team_disqualified", "match_result"]
    assert produced[1]["forfeit"] == out and produced[1]["winner"] == match["team1_id"]
    assert d.t.teams[out]["disqualified"] is True
    assert_refused(d.t, lambda: d.t.decide_disqualify(out), DomainError, 409, "already_disqualified")
    assert_replays(d)


def test_disqualified_team_in_round_robin_forfeits_what_is_left_and_keeps_its_past():
    d, ids = started(4, format="round_robin")
    a, b, c, dd = ids
    played = next(m for m in d.t.match_list() if d_in(m, dd))
    winner = played["team1_id"] if played["team1_id"] != dd else played["team2_id"]
    d.result(played["id"], dd)  # d beats someone before being disqualified
    d.run("decide_disqualify", dd)
    theirs = [m for m in d.t.matches.values() if d_in(m, dd)]
    assert d.t.matches[played["id"]]["winner"] == dd  # past result stays
    assert all(m["status"] == "completed" for m in theirs)
    assert all(m["winner"] != dd and m.get("forfeit") == [dd] for m in theirs if m["id"] != played["id"])
    assert winner in ids
    assert_replays(d)


def test_a_dropped_swiss_team_keeps_its_place_and_is_not_paired_again():
    d, ids = started(4, format="swiss", swiss_rounds=3, captains=True)
    pick = better(d)
    for match in d.t.match_list():
        d.result(match["id"], pick(match))
    leader = ids[0]
    produced = d.run("decide_drop", leader)
    assert produced[0]["type"] == "team_dropped"
    # Its round-2 match was forfeited; it is paired no more, and its 3 points stay on the table.
    forfeited = next(m for m in d.t.matches.values() if m["round"] == 2 and leader in (m["team1_id"], m["team2_id"]))
    assert forfeited["forfeit"] == [leader] and forfeited["winner"] != leader
    play_out(d, pick)
    assert all(leader not in (m["team1_id"], m["team2_id"]) for m in d.t.matches.values() if m["round"] == 3)
    row = next(r for r in d.t.standings() if r["team_id"] == leader)
    assert row["dropped"] and not row["disqualified"] and row["points"] == 3
    assert d.t.champion != leader
    assert_refused(d.t, lambda: d.t.decide_drop(leader), IllegalAction)  # over: COMPLETED
    assert_replays(d)


def d_in(match, team):
    return team in (match["team1_id"], match["team2_id"])


# ---- check-in -----------------------------------------------------------------------------------


def test_teams_that_did_not_check_in_are_removed_at_start_and_seeds_close_up():
    d = Driver()
    d.publish(max_teams=8, options={"check_in": True})
    ids = [d.register(f"Team {i}") for i in range(1, 6)]
    for team_id in (ids[0], ids[2], ids[3], ids[4]):
        d.run("decide_check_in", team_id)
    assert d.run("decide_check_in", ids[0]) == []  # twice is once
    produced = d.start()
    assert produced[0]["type"] == "team_unregistered" and produced[0]["team_id"] == ids[1]
    assert d.t.seeded_team_ids == [ids[0], ids[2], ids[3], ids[4]]
    assert [d.t.teams[t]["seed"] for t in d.t.seeded_team_ids] == [1, 2, 3, 4]
    assert_replays(d)


def test_check_in_is_refused_when_not_used_or_after_start():
    d = Driver()
    d.publish(max_teams=4)
    team = d.register("Solo")
    assert_refused(d.t, lambda: d.t.decide_check_in(team), DomainError, 409, "check_in_not_required")
    d.register("Duo")
    d.start()
    assert_refused(d.t, lambda: d.t.decide_check_in(team), IllegalAction)


def test_too_few_checked_in_teams_cannot_start():
    d = Driver()
    d.publish(max_teams=4, options={"check_in": True})
    team = d.register("One")
    d.register("Two")
    d.run("decide_check_in", team)
    error = assert_refused(d.t, d.t.decide_start, DomainError, 409, "not_enough_teams")
    assert "did not check in" in error.message


# ---- corrections --------------------------------------------------------------------------------


def test_a_correction_propagates_until_a_dependent_match_is_played():
    d, ids = started(8)
    quarter = d.t.matches["r1_match_1"]
    d.result(quarter["id"], quarter["team1_id"])
    semi = d.t.matches["r2_match_1"]
    assert semi["team1_id"] == quarter["team1_id"]
    produced = d.run("decide_correct_result", quarter["id"], quarter["team2_id"])
    assert produced[0]["type"] == "result_corrected" and produced[0]["previous_winner"] == quarter["team1_id"]
    assert d.t.matches["r2_match_1"]["team1_id"] == quarter["team2_id"]
    # Play the semifinal: the quarterfinal can no longer change.
    other = d.t.matches["r1_match_2"]
    d.result(other["id"], other["team1_id"])
    d.result("r2_match_1", quarter["team2_id"])
    error = assert_refused(d.t, lambda: d.t.decide_correct_result(quarter["id"], quarter["team1_id"]),
                           DomainError, 409, "result_locked")
    assert error.fields == {"matches": ["r2_match_1"]}
    assert_replays(d)


def test_a_correction_in_round_robin_changes_the_standings():
    d, ids = started(4, format="round_robin")
    match = d.t.match_list()[0]
    d.result(match["id"], match["team1_id"])
    assert d.t.standings()[0]["team_id"] == match["team1_id"]
    d.run("decide_correct_result", match["id"], match["team2_id"], [0, 2])
    rows = {r["team_id"]: r for r in d.t.standings()}
    assert rows[match["team2_id"]]["points"] == 3 and rows[match["team1_id"]]["points"] == 0
    assert d.t.standings()[0]["team_id"] == match["team2_id"]
    assert_replays(d)


def test_correction_refused_for_a_match_not_completed():
    d, ids = started(4)
    match = d.t.match_list()[0]
    assert_refused(d.t, lambda: d.t.decide_correct_result(match["id"], match["team1_id"]), DomainError, 409,
                   "match_not_completed")


# ---- swiss --------------------------------------------------------------------------------------


def test_swiss_of_eight_pairs_by_score_without_rematches():
    d, ids = started(8, format="swiss")
    assert [(m["team1_id"], m["team2_id"]) for m in d.t.match_list()] == [
        (ids[0], ids[4]), (ids[1], ids[5]), (ids[2], ids[6]), (ids[3], ids[7])]
    pick = better(d)
    for match in d.t.match_list():
        d.result(match["id"], pick(match))
    # Round 2: the four winners among themselves (top half v bottom half), the losers likewise.
    assert d.t.round == 2
    assert [(m["team1_id"], m["team2_id"]) for m in d.t.match_list()] == [
        (ids[0], ids[2]), (ids[1], ids[3]), (ids[4], ids[6]), (ids[5], ids[7])]
    play_out(d, pick)
    assert d.t.state == "COMPLETED" and d.t.champion == ids[0]
    assert max(m["round"] for m in d.t.matches.values()) == 3  # ceil(log2 8)
    pairs = [frozenset((m["team1_id"], m["team2_id"])) for m in d.t.matches.values()]
    assert len(pairs) == len(set(pairs))
    assert d.t.standings()[0]["points"] == 9
    assert_replays(d)


def test_swiss_drops_a_disqualified_team_from_pairing_and_gives_one_bye():
    d, ids = started(6, format="swiss", swiss_rounds=3)
    d.run("decide_disqualify", ids[5])
    play_out(d, better(d))
    later = [m for m in d.t.matches.values() if m["round"] > 1]
    assert all(ids[5] not in (m["team1_id"], m["team2_id"]) for m in later)
    byes = [m["team1_id"] for m in later if m["status"] == "bye"]
    assert len(byes) == len(set(byes)) == 2  # five teams left: one bye in each later round
    assert d.t.standings()[-1]["team_id"] == ids[5] and d.t.standings()[-1]["disqualified"]


def test_a_swiss_correction_pairs_the_next_round_again_until_it_is_played():
    d, ids = started(4, format="swiss")
    first = d.t.match_list()  # 1-3, 2-4
    for match in first:
        d.result(match["id"], match["team1_id"])
    assert [(m["team1_id"], m["team2_id"]) for m in d.t.match_list()] == [(ids[0], ids[1]), (ids[2], ids[3])]
    # Seed 3 beat seed 1 after all: now 2 and 3 lead, and round 2 is paired again.
    d.run("decide_correct_result", first[0]["id"], ids[2])
    assert [(m["team1_id"], m["team2_id"]) for m in d.t.match_list()] == [(ids[1], ids[2]), (ids[0], ids[3])]
    assert_replays(d)
    round2 = d.t.match_list()[0]
    d.result(round2["id"], round2["team1_id"])
    error = assert_refused(d.t, lambda: d.t.decide_correct_result(first[0]["id"], ids[0]),
                           DomainError, 409, "result_locked")
    assert error.fields["matches"] == [round2["id"]]


def test_a_group_correction_draws_the_playoff_again_until_it_is_played():
    d, ids = started(4, format="group_playoff", groups=2, advance_per_group=1)
    group_a, group_b = d.t.match_list()
    d.result(group_a["id"], group_a["team1_id"])
    d.result(group_b["id"], group_b["team1_id"])
    final = d.t.match_list()[0]
    assert {final["team1_id"], final["team2_id"]} == {group_a["team1_id"], group_b["team1_id"]}
    d.run("decide_correct_result", group_a["id"], group_a["team2_id"])
    final = d.t.match_list()[0]
    assert {final["team1_id"], final["team2_id"]} == {group_a["team2_id"], group_b["team1_id"]}
    assert_replays(d)
    d.result(final["id"], final["team1_id"])
    assert d.t.state == "COMPLETED"


# ---- group stage and playoff --------------------------------------------------------------------


def test_group_playoff_of_eight_crosses_group_winners_and_runners_up():
    d, ids = started(8, format="group_playoff", groups=2, advance_per_group=2)
    groups = d.t.bracket()["groups"]
    assert groups == {"A": [ids[0], ids[3], ids[4], ids[7]], "B": [ids[1], ids[2], ids[5], ids[6]]}
    assert len(d.t.matches) == 4  # round 1 of two 4-team round robins; each round comes when it begins
    pick = better(d)
    while not any(m.get("stage") == "playoff" for m in d.t.matches.values()):
        match = d.t.match_list()[0]
        d.result(match["id"], pick(match))
    assert len([m for m in d.t.matches.values() if "group" in m]) == 12
    semis = [(m["team1_id"], m["team2_id"]) for m in d.t.match_list()]
    # A1 v B2 and B1 v A2.
    assert semis == [(ids[0], ids[2]), (ids[1], ids[3])]
    assert d.t.round == 4  # three group rounds, then the playoff's first
    play_out(d, pick)
    assert d.t.state == "COMPLETED" and d.t.champion == ids[0]
    rows = d.t.standings()
    assert [r["team_id"] for r in rows[:2]] == [ids[0], ids[1]]
    assert {r["group"] for r in rows} == {"A", "B"}
    assert_replays(d)


def test_group_playoff_draws_only_in_the_groups():
    d, ids = started(4, format="group_playoff", groups=2, advance_per_group=1, allow_draws=True)
    for match in d.t.match_list():
        d.result(match["id"], None)
    final = d.t.match_list()[0]
    assert final["stage"] == "playoff"
    assert_refused(d.t, lambda: d.t.decide_record_result(final["id"], None), DomainError, 400)
