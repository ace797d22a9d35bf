"""Double elimination in tournament_service/engine/double_elimination.py: structure, byes, grand final."""
import copy
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.brackets import BRACKETS_MANAGER, Playthroughs
from tournament_service.engine import double_elimination as de
from tournament_service.engine.matches import COMPLETED


def team_ids(n):
    return [f"t{i}" for i in range(1, n + 1)]


def by_bracket(bracket):
    return Counter(match["bracket"] for match in bracket["matches"].values())


def play(bracket, pick):
    """Play every ready match in bracket order; `pick(match)` names the winner."""
    while True:
        ready = de.pending_matches(bracket)
        if not ready:
            return bracket
        match = ready[0]
        bracket = de.record(bracket, match["id"], pick(match))


def top_seed_wins(seeds):
    rank = {team: index for index, team in enumerate(seeds)}
    return lambda match: min(match["team1_id"], match["team2_id"], key=rank.__getitem__)


def completed(bracket):
    return [m for m in bracket["matches"].values() if m["status"] == COMPLETED]


def play_to_grand_final(n, mode="reset"):
    seeds = team_ids(n)
    bracket = de.build(seeds, mode)
    pick = top_seed_wins(seeds)
    while True:
        ready = [m for m in de.pending_matches(bracket) if m["bracket"] != de.GRAND_FINAL]
        if not ready:
            return bracket
        bracket = de.record(bracket, ready[0]["id"], pick(ready[0]))


# ---- structure -----------------------------------------------------------------------------------


@pytest.mark.parametrize("n, wb, lb, lb_rounds", [(4, 3, 2, 2), (6, 7, 6, 4), (8, 7, 6, 4), (16, 15, 14, 6)])
def test_match_counts_with_reset(n, wb, lb, lb_rounds):
    bracket = de.build(team_ids(n))
    counts = by_bracket(bracket)
    assert counts == {"winners": wb, "losers": lb, "grand_final": 2}
    assert max(m["round"] for m in bracket["matches"].values() if m["bracket"] == "losers") == lb_rounds
    ids = set(bracket["matches"])
    assert {"gf_1", "gf_2"} <= ids
    assert all(match_id == match["id"] for match_id, match in bracket["matches"].items())


@pytest.mark.parametrize("n, without_reset", [(4, 6), (6, 10), (8, 14), (16, 30)])
@pytest.mark.parametrize("lb_finalist_wins", [False, True])
def test_matches_played_with_reset(n, without_reset, lb_finalist_wins):
    bracket = play_to_grand_final(n)
    gf_1 = bracket["matches"]["gf_1"]
    winner = gf_1["team2_id"] if lb_finalist_wins else gf_1["team1_id"]
    bracket = de.record(bracket, "gf_1", winner)
    bracket = play(bracket, lambda match: match["team1_id"])
    assert len(completed(bracket)) == without_reset + (1 if lb_finalist_wins else 0)


def test_losers_round_sizes_16():
    bracket = de.build(team_ids(16))
    sizes = Counter(m["round"] for m in bracket["matches"].values() if m["bracket"] == "losers")
    assert sizes == {1: 4, 2: 4, 3: 2, 4: 2, 5: 1, 6: 1}


def test_every_winners_loser_destination_8():
    bracket = de.build(team_ids(8))
    loser_to = {match_id: match["loser_to"] for match_id, match in bracket["matches"].items()
                if match["bracket"] == "winners"}
    assert loser_to == {
        # Round 1 losers pair up in natural order.
        "wb_r1_m1": {"match_id": "lb_r1_m1", "slot": 1},
        "wb_r1_m2": {"match_id": "lb_r1_m1", "slot": 2},
        "wb_r1_m3": {"match_id": "lb_r1_m2", "slot": 1},
        "wb_r1_m4": {"match_id": "lb_r1_m2", "slot": 2},
        # Round 2 drop-downs are reversed: the top half's loser goes to the bottom half.
        "wb_r2_m1": {"match_id": "lb_r2_m2", "slot": 2},
        "wb_r2_m2": {"match_id": "lb_r2_m1", "slot": 2},
        # The winners' final loser plays the losers' final.
        "wb_r3_m1": {"match_id": "lb_r4_m1", "slot": 2},
    }


def test_every_route_8():
    bracket = de.build(team_ids(8))
    winner_to = {match_id: match["winner_to"] and (match["winner_to"]["match_id"], match["winner_to"]["slot"])
                 for match_id, match in bracket["matches"].items()}
    assert winner_to == {
        "wb_r1_m1": ("wb_r2_m1", 1), "wb_r1_m2": ("wb_r2_m1", 2),
        "wb_r1_m3": ("wb_r2_m2", 1), "wb_r1_m4": ("wb_r2_m2", 2),
        "wb_r2_m1": ("wb_r3_m1", 1), "wb_r2_m2": ("wb_r3_m1", 2),
        "wb_r3_m1": ("gf_1", 1),
        "lb_r1_m1": ("lb_r2_m1", 1), "lb_r1_m2": ("lb_r2_m2", 1),
        "lb_r2_m1": ("lb_r3_m1", 1), "lb_r2_m2": ("lb_r3_m1", 2),
        "lb_r3_m1": ("lb_r4_m1", 1),
        "lb_r4_m1": ("gf_1", 2),
        "gf_1": ("gf_2", 1),
        "gf_2": None,
    }
    assert all(m["loser_to"] is None for m in bracket["matches"].values() if m["bracket"] == "losers")
    assert bracket["matches"]["gf_1"]["loser_to"] == {"match_id": "gf_2", "slot": 2}


def test_drop_down_order_16():
    bracket = de.build(team_ids(16))
    drops = {match_id: (m["loser_to"]["match_id"], m["loser_to"]["slot"])
             for match_id, m in bracket["matches"].items()
             if m["bracket"] == "winners" and m["round"] >= 2}
    # The orders with the fewest rematches over playthroughs for 16: natural, reverse, natural
    # (this test once encoded brackets-manager.js's reverse_half_shift, reverse: 1.06 losers'-bracket
    # rematches per event against 0.76, bench/de_rematches.py).
    assert drops == {
        # Round 2, reverse: [1, 2, 3, 4] -> [4, 3, 2, 1].
        "wb_r2_m1": ("lb_r2_m4", 2), "wb_r2_m2": ("lb_r2_m3", 2),
        "wb_r2_m3": ("lb_r2_m2", 2), "wb_r2_m4": ("lb_r2_m1", 2),
        # Round 3, natural.
        "wb_r3_m1": ("lb_r4_m1", 2), "wb_r3_m2": ("lb_r4_m2", 2),
        "wb_r4_m1": ("lb_r6_m1", 2),
    }


def test_orderings_are_brackets_managers():
    items = [1, 2, 3, 4, 5, 6, 7, 8]
    assert de.ORDERINGS["reverse"](items) == [8, 7, 6, 5, 4, 3, 2, 1]
    assert de.ORDERINGS["half_shift"](items) == [5, 6, 7, 8, 1, 2, 3, 4]
    assert de.ORDERINGS["reverse_half_shift"](items) == [4, 3, 2, 1, 8, 7, 6, 5]
    assert de.ORDERINGS["pair_flip"](items) == [2, 1, 4, 3, 6, 5, 8, 7]
    assert de.ORDERINGS["pair_flip"]([1]) == [1]


def rematches_per_event(size, orders, events=300, seed=1):
    runs = Playthroughs(de.build(team_ids(size), "none", orders=orders))
    return sum(len(runs.rematches(random.Random(seed * 1_000_003 + event))) for event in range(events)) / events


@pytest.mark.parametrize("size", [8, 16, 32, 64])
def test_drop_orders_rematch_no_more_than_brackets_manager(size):
    # Over the same random playthroughs (every match a coin flip), the engine's drop-down orders
    # put no more pairs of teams that already met into losers'-bracket matches than
    # brackets-manager.js's defaults. Until the orders were chosen on this measure (they were chosen
    # on where a drop-down's first losers' match could be a rematch), 32 teams had 1.87 per event
    # against brackets-manager.js's 0.81.
    ours = rematches_per_event(size, de.drop_orders(size))
    theirs = rematches_per_event(size, BRACKETS_MANAGER[size])
    assert ours <= theirs
    if size in (16, 32, 64):
        assert ours < theirs * 0.95


@pytest.mark.parametrize("teams", [8, 13, 32])
def test_playthroughs_follow_the_engine(teams):
    # The measure above replays the bracket's routing by itself; here the engine plays the same
    # coin flips and meets the same pairs of teams again in the same losers' rounds.
    runs = Playthroughs(de.build(team_ids(teams), "none"))
    for event in range(20):
        rematches = runs.rematches(random.Random(event))
        flips = random.Random(event)
        team1_wins = {match_id: flips.random() < 0.5 for match_id in runs.match_ids}
        bracket, met, found = de.build(team_ids(teams), "none"), set(), []
        while ready := de.pending_matches(bracket):
            match = ready[0]
            pair = frozenset((match["team1_id"], match["team2_id"]))
            if pair in met and match["bracket"] == "losers":
                found.append(match["round"])
            met.add(pair)
            winner = match["team1_id"] if team1_wins[match["id"]] else match["team2_id"]
            bracket = de.record(bracket, match["id"], winner)
        assert sorted(found) == sorted(rematches)


def _wb_round1_sources(bracket, match_id):
    """Winners' round-1 match numbers whose teams can reach `match_id`'s slot 1 through the losers' bracket."""
    match = bracket["matches"][match_id]
    source = match["team1_from"]
    sources = set()
    stack = [source]
    while stack:
        source = stack.pop()
        feeder = bracket["matches"][source["match_id"]]
        if feeder["bracket"] == "winners":
            assert feeder["round"] == 1
            sources.add(feeder["position"])
        else:
            stack.extend([feeder["team1_from"], feeder["team2_from"]])
    return sources


@pytest.mark.parametrize("n", [8, 16, 32, 64])
def test_round2_drop_down_cannot_meet_a_team_it_already_played(n):
    bracket = de.build(team_ids(n))
    for match in bracket["matches"].values():
        if match["bracket"] == "winners" and match["round"] == 2:
            target = match["loser_to"]["match_id"]
            own_half = {2 * match["position"] - 1, 2 * match["position"]}
            assert not own_half & _wb_round1_sources(bracket, target), (match["id"], target)


def test_sources_mirror_routes():
    bracket = de.build(team_ids(16))
    for match in bracket["matches"].values():
        for outcome in ("winner", "loser"):
            route = match[f"{outcome}_to"]
            if route:
                target = bracket["matches"][route["match_id"]]
                assert target[f"team{route['slot']}_from"] == {"match_id": match["id"], "outcome": outcome}


def test_build_rejects_bad_input():
    with pytest.raises(ValueError):
        de.build(["a"])
    with pytest.raises(ValueError):
        de.build(["a", "a", "b"])
    with pytest.raises(ValueError):
        de.build(team_ids(4), grand_final="double")


# ---- grand final --------------------------------------------------------------------------------


def test_grand_final_not_reset_when_winners_finalist_wins():
    bracket = play_to_grand_final(8)
    gf_1 = bracket["matches"]["gf_1"]
    assert (gf_1["team1_id"], gf_1["team2_id"]) == ("t1", "t2")
    assert de.champion(bracket) is None
    bracket = de.record(bracket, "gf_1", "t1", scores=[2, 1])
    assert bracket["matches"]["gf_2"]["status"] == "void"
    assert de.pending_matches(bracket) == []
    assert de.champion(bracket) == "t1"
    assert de.placements(bracket)[:2] == [("t1", 1), ("t2", 2)]
    assert bracket["matches"]["gf_1"]["scores"] == [2, 1]


def test_grand_final_reset_when_losers_finalist_wins():
    bracket = play_to_grand_final(8)
    bracket = de.record(bracket, "gf_1", "t2")
    gf_2 = bracket["matches"]["gf_2"]
    assert gf_2["status"] == "pending"
    assert (gf_2["team1_id"], gf_2["team2_id"]) == ("t2", "t1")
    assert de.champion(bracket) is None
    assert [m["id"] for m in de.pending_matches(bracket)] == ["gf_2"]
    won_reset = de.record(bracket, "gf_2", "t1")
    assert de.champion(won_reset) == "t1"
    assert de.placements(won_reset)[:2] == [("t1", 1), ("t2", 2)]
    lost_reset = de.record(bracket, "gf_2", "t2")
    assert de.champion(lost_reset) == "t2"
    assert de.placements(lost_reset)[:2] == [("t2", 1), ("t1", 2)]


@pytest.mark.parametrize("lb_finalist_wins", [False, True])
def test_single_grand_final(lb_finalist_wins):
    bracket = play_to_grand_final(8, "single")
    assert "gf_2" not in bracket["matches"]
    assert by_bracket(bracket)["grand_final"] == 1
    gf_1 = bracket["matches"]["gf_1"]
    assert gf_1["winner_to"] is None and gf_1["loser_to"] is None
    winner = "t2" if lb_finalist_wins else "t1"
    bracket = de.record(bracket, "gf_1", winner)
    assert de.pending_matches(bracket) == []
    assert de.champion(bracket) == winner
    assert de.placements(bracket)[:2] == [(winner, 1), ("t1" if lb_finalist_wins else "t2", 2)]


def test_no_grand_final():
    seeds = team_ids(8)
    bracket = de.build(seeds, "none")
    assert by_bracket(bracket) == {"winners": 7, "losers": 6}
    assert bracket["matches"]["wb_r3_m1"]["winner_to"] is None
    assert bracket["matches"]["lb_r4_m1"]["winner_to"] is None
    bracket = play(bracket, top_seed_wins(seeds))
    assert len(completed(bracket)) == 13
    assert de.champion(bracket) == "t1"
    # t2 lost the winners' final, then won the losers' final against t3.
    assert de.placements(bracket) == [("t1", 1), ("t2", 2), ("t3", 3), ("t4", 4),
                                      ("t5", 5), ("t6", 5), ("t7", 7), ("t8", 7)]


def test_champion_known_after_winners_final_without_grand_final():
    bracket = de.build(team_ids(4), "none")
    for match_id, winner in [("wb_r1_m1", "t1"), ("wb_r1_m2", "t2"), ("wb_r2_m1", "t1")]:
        assert de.champion(bracket) is None
        bracket = de.record(bracket, match_id, winner)
    assert de.champion(bracket) == "t1"
    assert [m["id"] for m in de.pending_matches(bracket)] == ["lb_r1_m1"]


@pytest.mark.parametrize("mode", ["reset", "single", "none"])
def test_two_teams(mode):
    bracket = de.build(["a", "b"], mode)
    assert by_bracket(bracket)["losers"] == 0
    bracket = de.record(bracket, "wb_r1_m1", "b")
    if mode == "none":
        assert bracket["matches"]["wb_r1_m1"]["loser_to"] is None
    else:
        assert bracket["matches"]["gf_1"]["team1_id"] == "b"
        assert bracket["matches"]["gf_1"]["team2_id"] == "a"
        bracket = de.record(bracket, "gf_1", "a")
        if mode == "reset":
            bracket = de.record(bracket, "gf_2", "a")
    assert de.pending_matches(bracket) == []
    winner = "b" if mode == "none" else "a"
    assert de.champion(bracket) == winner
    assert de.placements(bracket) == [(winner, 1), ({"a", "b"}.difference(winner).pop(), 2)]


def test_full_placements_8_with_reset():
    seeds = team_ids(8)
    bracket = play(de.build(seeds), top_seed_wins(seeds))
    assert de.placements(bracket) == [("t1", 1), ("t2", 2), ("t3", 3), ("t4", 4),
                                      ("t5", 5), ("t6", 5), ("t7", 7), ("t8", 7)]


# ---- byes ---------------------------------------------------------------------------------------


def test_six_teams_top_two_seeds_get_byes():
    bracket = de.build(team_ids(6))
    matches = bracket["matches"]
    assert [(m["team1_id"], m["team2_id"], m["status"], m["winner"])
            for m in (matches[f"wb_r1_m{p}"] for p in range(1, 5))] == [
        ("t1", None, "bye", "t1"), ("t4", "t5", "pending", None),
        ("t2", None, "bye", "t2"), ("t3", "t6", "pending", None),
    ]
    # Byes carried the top seeds into round 2 straight away.
    assert matches["wb_r2_m1"]["team1_id"] == "t1" and matches["wb_r2_m2"]["team1_id"] == "t2"
    # Losers' round 1 is half known to be empty, and waits for the other half.
    assert matches["lb_r1_m1"]["status"] == "pending" and matches["lb_r1_m1"]["team1_id"] is None
    assert [m["id"] for m in de.pending_matches(bracket)] == ["wb_r1_m2", "wb_r1_m4"]

    bracket = de.record(bracket, "wb_r1_m2", "t4")
    lb = bracket["matches"]["lb_r1_m1"]
    assert (lb["status"], lb["team2_id"], lb["winner"], lb["loser"]) == ("bye", "t5", "t5", None)
    assert bracket["matches"]["lb_r2_m1"]["team1_id"] == "t5"
    bracket = de.record(bracket, "wb_r1_m4", "t6")
    assert bracket["matches"]["lb_r1_m2"]["status"] == "bye"
    assert bracket["matches"]["lb_r2_m2"]["team1_id"] == "t3"
    assert [m["id"] for m in de.pending_matches(bracket)] == ["wb_r2_m1", "wb_r2_m2"]


def test_six_teams_full_event():
    seeds = team_ids(6)
    bracket = play(de.build(seeds), top_seed_wins(seeds))
    statuses = Counter(m["status"] for m in bracket["matches"].values())
    assert statuses == {"completed": 10, "bye": 4, "void": 1}
    assert de.placements(bracket) == [("t1", 1), ("t2", 2), ("t3", 3), ("t4", 4), ("t5", 5), ("t6", 5)]
    _assert_no_team_twice_in_a_round(bracket)


def test_five_teams_void_losers_match():
    bracket = de.build(team_ids(5))
    matches = bracket["matches"]
    # Seeds 1, 2 and 3 have byes: losers' round 1 match 2 would pair the losers of two byes.
    assert matches["lb_r1_m2"]["status"] == "void"
    assert matches["lb_r1_m2"]["winner"] is None
    assert [m["id"] for m in de.pending_matches(bracket)] == ["wb_r1_m2", "wb_r2_m2"]
    bracket = de.record(bracket, "wb_r1_m2", "t5")
    bracket = de.record(bracket, "wb_r2_m1", "t1")
    # t5 lost to t1; lb_r2_m2 holds only that drop-down (its survivor slot is void) so t5 gets a bye.
    assert bracket["matches"]["lb_r2_m2"]["status"] == "bye"
    assert bracket["matches"]["lb_r2_m2"]["winner"] == "t5"


# ---- record -------------------------------------------------------------------------------------


def test_record_rejects_invalid_results():
    bracket = de.build(team_ids(6))
    with pytest.raises(ValueError):
        de.record(bracket, "wb_r9_m1", "t1")
    with pytest.raises(ValueError):
        de.record(bracket, "wb_r1_m1", "t1")  # a bye
    with pytest.raises(ValueError):
        de.record(bracket, "wb_r2_m1", "t1")  # waiting for its second team
    with pytest.raises(ValueError):
        de.record(bracket, "wb_r1_m2", "t1")  # not playing there
    played = de.record(bracket, "wb_r1_m2", "t4")
    with pytest.raises(ValueError):
        de.record(played, "wb_r1_m2", "t4")  # already completed
    done = play_to_grand_final(4)
    done = de.record(done, "gf_1", "t1")
    with pytest.raises(ValueError):
        de.record(done, "gf_2", "t1")  # void


def test_record_does_not_mutate_input():
    bracket = de.build(team_ids(8))
    snapshot = copy.deepcopy(bracket)
    after = de.record(bracket, "wb_r1_m1", "t8")
    assert bracket == snapshot
    assert after["matches"]["wb_r1_m1"]["winner"] == "t8"
    assert after["matches"]["lb_r1_m1"]["team1_id"] == "t1"


def test_placements_refused_before_the_end():
    with pytest.raises(ValueError):
        de.placements(de.build(team_ids(4)))


# ---- properties ---------------------------------------------------------------------------------


def _assert_no_team_twice_in_a_round(bracket):
    seen = Counter()
    for match in bracket["matches"].values():
        for team in (match["team1_id"], match["team2_id"]):
            if team is not None:
                seen[(match["bracket"], match["round"], team)] += 1
    assert not [key for key, count in seen.items() if count > 1]


@settings(max_examples=150, deadline=None)
@given(n=st.integers(min_value=2, max_value=32), mode=st.sampled_from(de.GRAND_FINAL_MODES),
       data=st.data())
def test_random_events_complete_correctly(n, mode, data):
    seeds = team_ids(n)
    bracket = de.build(seeds, mode)
    while de.pending_matches(bracket):
        ready = de.pending_matches(bracket)
        match = data.draw(st.sampled_from(ready))
        assert match["team1_id"] != match["team2_id"]
        winner = data.draw(st.sampled_from([match["team1_id"], match["team2_id"]]))
        snapshot = copy.deepcopy(bracket)
        new = de.record(bracket, match["id"], winner)
        assert bracket == snapshot
        bracket = new

    matches = bracket["matches"].values()
    # Nothing is left waiting: every match was played, a bye or void.
    assert all(m["status"] in ("completed", "bye", "void") for m in matches)
    for m in matches:
        teams = [t for t in (m["team1_id"], m["team2_id"]) if t is not None]
        if m["status"] == "completed":
            assert len(teams) == 2 and m["winner"] in teams and m["loser"] in teams and m["winner"] != m["loser"]
        elif m["status"] == "bye":
            assert teams == [m["winner"]] and m["loser"] is None
        else:
            assert teams == [] and m["winner"] is None
    _assert_no_team_twice_in_a_round(bracket)

    winner = de.champion(bracket)
    assert winner in seeds
    losses = Counter(m["loser"] for m in matches if m["status"] == "completed")
    assert set(losses) <= set(seeds) and max(losses.values()) <= 2
    ranking = de.placements(bracket)
    runner_up = ranking[1][0]
    assert ranking[1][1] == 2
    # Nobody is out before a second loss, except the runner-up in "single" (a winners' finalist
    # beaten once, in the only grand final) and in "none" (the losers'-bracket winner).
    # The champion has at most one loss ("none": zero, it is the unbeaten winners' champion).
    assert losses[winner] <= (0 if mode == "none" else 1)
    for team in seeds:
        if team == winner:
            continue
        if team == runner_up and mode in ("single", "none"):
            assert losses[team] in ((1, 2) if mode == "single" else (1,))
        else:
            assert losses[team] == 2, (team, losses[team])

    # Played matches: each non-champion loses twice (minus the exceptions above).
    assert len([m for m in matches if m["status"] == "completed"]) == sum(losses.values())
    assert [team for team, _ in ranking] != [] and sorted(t for t, _ in ranking) == sorted(seeds)
    assert ranking[0] == (winner, 1)
    places = [place for _, place in ranking]
    assert places == sorted(places)
    for index, place in enumerate(places):
        assert place == 1 + sum(1 for other in places if other < place)
        assert place <= index + 1
