"""Single-elimination seeding, byes and bracket play in tournament_service/engine/single_elimination.py."""
import random

import pytest

from tournament_service.engine import routing
from tournament_service.engine import single_elimination as se
from tournament_service.engine.matches import DECIDED

TEAM_COUNTS = range(2, 65)


def expected_bracket_size(n):
    size = 1
    while size < n:
        size *= 2
    return max(size, 2)


def team_ids(n):
    return [f"team_{i}" for i in range(1, n + 1)]


# ---- seed order ---------------------------------------------------------------------------------


def test_seed_order_8():
    assert se.seed_order(8) == [1, 8, 4, 5, 2, 7, 3, 6]


def test_seed_order_16_pairs():
    order = se.seed_order(16)
    pairs = [tuple(order[i:i + 2]) for i in range(0, 16, 2)]
    assert pairs == [(1, 16), (8, 9), (4, 13), (5, 12), (2, 15), (7, 10), (3, 14), (6, 11)]


@pytest.mark.parametrize("size", [2, 4, 8, 16, 32, 64])
def test_seed_order_is_a_permutation_of_pairs_summing_to_size_plus_one(size):
    order = se.seed_order(size)
    assert sorted(order) == list(range(1, size + 1))
    assert all(order[i] + order[i + 1] == size + 1 for i in range(0, size, 2))
    assert order[0] == 1
    # 1 and 2 in opposite halves: they can meet only in the final.
    assert (order.index(1) < size // 2) != (order.index(2) < size // 2)


@pytest.mark.parametrize("size", [4, 8, 16, 32])
def test_top_four_seeds_in_different_quarters(size):
    order = se.seed_order(size)
    quarter = size // 4
    quarters = {order.index(seed) // quarter for seed in (1, 2, 3, 4)}
    assert quarters == {0, 1, 2, 3}


@pytest.mark.parametrize("n", list(range(1, 70)))
def test_bracket_size_and_rounds(n):
    assert se.bracket_size(n) == expected_bracket_size(n)
    assert 2 ** se.total_rounds(n) == expected_bracket_size(n)


def test_first_round_needs_two_teams():
    with pytest.raises(ValueError):
        se.build(["only"])
    with pytest.raises(ValueError):
        se.build([])


def round_one(ids, **options):
    built = se.build(ids, **options)
    return [m for m in built["matches"].values() if m["round"] == 1 and m["bracket"] == "winners"]


# ---- first round --------------------------------------------------------------------------------


@pytest.mark.parametrize("n", TEAM_COUNTS)
def test_first_round_places_each_team_once_and_gives_byes_to_top_seeds(n):
    ids = team_ids(n)
    size = expected_bracket_size(n)
    matches = round_one(ids)

    assert len(matches) == size // 2
    assert [m["position"] for m in matches] == list(range(1, size // 2 + 1))
    assert [m["id"] for m in matches] == [f"r1_match_{p}" for p in range(1, size // 2 + 1)]

    placed = [t for m in matches for t in (m["team1_id"], m["team2_id"]) if t is not None]
    assert sorted(placed) == sorted(ids)
    assert len(placed) == len(set(placed)) == n

    byes = [m for m in matches if m["team2_id"] is None]
    assert len(byes) == size - n
    for m in byes:
        assert m["status"] == "bye"
        assert m["winner"] == m["team1_id"]
        assert m["team1_id"] is not None
        assert m["scores"] is None
    assert all(m["team1_id"] is not None for m in matches)
    bye_seeds = sorted(ids.index(m["team1_id"]) + 1 for m in byes)
    assert bye_seeds == list(range(1, size - n + 1))

    for m in matches:
        if m["team2_id"] is not None:
            assert m["status"] == "pending"
            assert m["winner"] is None
            assert m["scores"] is None
            # The better seed is in slot 1 and the two seeds sum to size + 1.
            s1, s2 = ids.index(m["team1_id"]) + 1, ids.index(m["team2_id"]) + 1
            assert s1 < s2
            assert s1 + s2 == size + 1


def test_first_round_of_five():
    built = se.build(["a", "b", "c", "d", "e"])
    assert [(m["team1_id"], m["team2_id"], m["status"], m["winner"]) for m in round_one(["a", "b", "c", "d", "e"])] == [
        ("a", None, "bye", "a"),
        ("d", "e", "pending", None),
        ("b", None, "bye", "b"),
        ("c", None, "bye", "c"),
    ]
    # The byes already sent their teams on: round 2 waits only for the one real match.
    second = [built["matches"][f"r2_match_{p}"] for p in (1, 2)]
    assert [(m["team1_id"], m["team2_id"]) for m in second] == [("a", None), ("b", "c")]
    assert [m["status"] for m in second] == ["pending", "pending"]
    assert [m["id"] for m in routing.ready_matches(built)] == ["r1_match_2", "r2_match_2"]


# ---- playing the bracket through ----------------------------------------------------------------


def better_seed(ids):
    seed = {t: i for i, t in enumerate(ids)}
    return lambda a, b: a if seed[a] < seed[b] else b


def worse_seed(ids):
    seed = {t: i for i, t in enumerate(ids)}
    return lambda a, b: a if seed[a] > seed[b] else b


def random_pick(rnd):
    return lambda a, b: rnd.choice([a, b])


def play(ids, pick, **options):
    """Play a bracket through with `pick(team1, team2) -> winner`; returns the finished bracket."""
    n = len(ids)
    bracket = se.build(ids, **options)
    played = 0
    while routing.ready_matches(bracket):
        for m in routing.ready_matches(bracket):
            bracket = routing.record(bracket, m["id"], pick(m["team1_id"], m["team2_id"]))
            played += 1
    matches = bracket["matches"]
    rounds = se.total_rounds(n)
    for round_no in range(1, rounds + 1):
        members = [m for m in matches.values() if m["round"] == round_no and m["bracket"] == "winners"]
        assert len(members) == expected_bracket_size(n) >> round_no
        teams_this_round = [t for m in members for t in (m["team1_id"], m["team2_id"]) if t is not None]
        assert len(teams_this_round) == len(set(teams_this_round)), f"a team plays twice in round {round_no}"
        if round_no > 1:
            assert all(m["status"] == "completed" and m["team2_id"] is not None for m in members)
        # Match p of the round before feeds slot 1 (odd p) or slot 2 (even p) of match ceil(p/2).
        for prev in members:
            if round_no < rounds:
                target = matches[f"r{round_no + 1}_match_{(prev['position'] + 1) // 2}"]
                assert target["team1_id" if prev["position"] % 2 else "team2_id"] == prev["winner"]
    assert all(m["status"] in DECIDED for m in matches.values())
    real = [m for m in matches.values() if m["status"] == "completed" and m["bracket"] == "winners"]
    assert len(real) == n - 1
    assert played == n - 1 + (1 if bracket["third_place_match"] else 0)
    losers = {m["loser"] for m in real}
    assert set(ids) - losers == {se.champion(bracket)}
    return bracket


@pytest.mark.parametrize("n", TEAM_COUNTS)
def test_play_through_better_seed_wins(n):
    ids = team_ids(n)
    assert se.champion(play(ids, better_seed(ids))) == ids[0]


@pytest.mark.parametrize("n", TEAM_COUNTS)
def test_play_through_better_seed_final_is_seed_1_v_2(n):
    ids = team_ids(n)
    bracket = play(ids, better_seed(ids))
    rounds = se.total_rounds(n)
    final = bracket["matches"][f"r{rounds}_match_1"]
    assert {final["team1_id"], final["team2_id"]} == {ids[0], ids[1]}
    if n >= 4:
        semis = [bracket["matches"][f"r{rounds - 1}_match_{p}"] for p in (1, 2)]
        assert {t for m in semis for t in (m["team1_id"], m["team2_id"])} == set(ids[:4])


@pytest.mark.parametrize("n", TEAM_COUNTS)
def test_play_through_worse_seed_wins(n):
    ids = team_ids(n)
    # Upsets everywhere: the champion is the worst seed among those that had to play in round 1
    # (the worst seed of all, since it always plays round 1).
    assert se.champion(play(ids, worse_seed(ids))) == ids[-1]


@pytest.mark.parametrize("n", TEAM_COUNTS)
@pytest.mark.parametrize("rng_seed", range(5))
def test_play_through_random_winners(n, rng_seed):
    ids = team_ids(n)
    rnd = random.Random(n * 1000 + rng_seed)
    assert se.champion(play(ids, random_pick(rnd))) in ids


@pytest.mark.parametrize("n", [4, 5, 8, 13])
def test_third_place_match_takes_the_semifinal_losers(n):
    ids = team_ids(n)
    bracket = play(ids, better_seed(ids), third_place_match=True)
    third = bracket["matches"]["third_place"]
    assert {third["team1_id"], third["team2_id"]} == {ids[2], ids[3]}
    assert third["winner"] == ids[2] and third["status"] == "completed"
    rows = se.standings(bracket)
    assert [(r["team_id"], r["rank"]) for r in rows[:4]] == [(ids[0], 1), (ids[1], 2), (ids[2], 3), (ids[3], 4)]


def test_third_place_match_needs_semifinals():
    assert "third_place" not in se.build(["a", "b"], third_place_match=True)["matches"]
    assert "third_place" in se.build(["a", "b", "c"], third_place_match=True)["matches"]


# ---- standings from the engine ------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 13, 16])
def test_engine_standings_after_a_full_bracket(n):
    ids = team_ids(n)
    rnd = random.Random(n)
    bracket = play(ids, random_pick(rnd))
    champion = se.champion(bracket)
    rows = se.standings(bracket)
    assert [r["team_id"] for r in rows].count(champion) == 1
    assert sorted(r["team_id"] for r in rows) == sorted(ids)
    assert rows[0]["team_id"] == champion and rows[0]["rank"] == 1
    final = bracket["matches"][f"r{se.total_rounds(n)}_match_1"]
    assert rows[1]["team_id"] == final["loser"] and rows[1]["rank"] == 2
    ranks = [r["rank"] for r in rows]
    assert ranks == sorted(ranks)
    assert sum(r["wins"] for r in rows) == sum(r["losses"] for r in rows) == n - 1
    assert [r for r in rows if not r["eliminated"]] == [rows[0]]
