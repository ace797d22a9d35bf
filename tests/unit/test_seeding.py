"""Single-elimination seeding, byes and bracket play in tournament_service/engine/single_elimination.py."""
import random

import pytest

from tournament_service.engine import single_elimination as se

TEAM_COUNTS = range(2, 34)


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
        se.first_round(["only"])
    with pytest.raises(ValueError):
        se.first_round([])


# ---- first round --------------------------------------------------------------------------------


@pytest.mark.parametrize("n", TEAM_COUNTS)
def test_first_round_places_each_team_once_and_gives_byes_to_top_seeds(n):
    ids = team_ids(n)
    size = expected_bracket_size(n)
    matches = se.first_round(ids)

    assert len(matches) == size // 2
    assert [m["position"] for m in matches] == list(range(1, size // 2 + 1))
    assert all(m["round"] == 1 for m in matches)
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
    matches = se.first_round(["a", "b", "c", "d", "e"])
    assert [(m["team1_id"], m["team2_id"], m["status"], m["winner"]) for m in matches] == [
        ("a", None, "bye", "a"),
        ("d", "e", "pending", None),
        ("b", None, "bye", "b"),
        ("c", None, "bye", "c"),
    ]


# ---- playing the bracket through ----------------------------------------------------------------


def better_seed(ids):
    seed = {t: i for i, t in enumerate(ids)}
    return lambda a, b: a if seed[a] < seed[b] else b


def worse_seed(ids):
    seed = {t: i for i, t in enumerate(ids)}
    return lambda a, b: a if seed[a] > seed[b] else b


def random_pick(rnd):
    return lambda a, b: rnd.choice([a, b])


def play(ids, pick):
    """Play a bracket through with `pick(team1, team2) -> winner`; returns (rounds, champion)."""
    n = len(ids)
    size = expected_bracket_size(n)
    rounds = [se.first_round(ids)]
    played = 0
    while True:
        current = rounds[-1]
        round_no = len(rounds)
        assert all(m["round"] == round_no for m in current)
        teams_this_round = [t for m in current for t in (m["team1_id"], m["team2_id"]) if t is not None]
        assert len(teams_this_round) == len(set(teams_this_round)), f"a team plays twice in round {round_no}"
        if round_no > 1:
            assert all(m["status"] == "pending" and m["team2_id"] is not None for m in current)
        for m in current:
            if m["status"] == "pending":
                m.update(status="completed", winner=pick(m["team1_id"], m["team2_id"]))
                played += 1
        assert all(m["status"] in se.DECIDED for m in current)
        if len(current) == 1:
            champion = current[0]["winner"]
            break
        winners = [m["winner"] for m in current]
        nxt = se.next_round(round_no + 1, winners)
        assert len(nxt) == len(current) // 2
        assert [m["id"] for m in nxt] == [f"r{round_no + 1}_match_{p}" for p in range(1, len(nxt) + 1)]
        # Match p of the round before feeds slot 1 (odd p) or slot 2 (even p) of match ceil(p/2).
        for prev in current:
            target = nxt[(prev["position"] + 1) // 2 - 1]
            slot = "team1_id" if prev["position"] % 2 else "team2_id"
            assert target[slot] == prev["winner"]
        rounds.append(nxt)
    assert len(rounds) == size.bit_length() - 1 == se.total_rounds(n)
    assert played == n - 1
    real_matches = [m for r in rounds for m in r if m["status"] == "completed"]
    assert len(real_matches) == n - 1
    # Exactly one team never lost: the champion.
    losers = {m["team1_id"] if m["winner"] == m["team2_id"] else m["team2_id"] for m in real_matches}
    unbeaten = set(ids) - losers
    assert unbeaten == {champion}
    assert len(losers) == n - 1
    return rounds, champion


@pytest.mark.parametrize("n", TEAM_COUNTS)
def test_play_through_better_seed_wins(n):
    ids = team_ids(n)
    _rounds, champion = play(ids, better_seed(ids))
    assert champion == ids[0]


@pytest.mark.parametrize("n", TEAM_COUNTS)
def test_play_through_better_seed_final_is_seed_1_v_2(n):
    ids = team_ids(n)
    rounds, _champion = play(ids, better_seed(ids))
    final = rounds[-1][0]
    assert {final["team1_id"], final["team2_id"]} == {ids[0], ids[1]}
    if n >= 4:
        semis = rounds[-2]
        assert {t for m in semis for t in (m["team1_id"], m["team2_id"])} == set(ids[:4])


@pytest.mark.parametrize("n", TEAM_COUNTS)
def test_play_through_worse_seed_wins(n):
    ids = team_ids(n)
    _rounds, champion = play(ids, worse_seed(ids))
    # Upsets everywhere: the champion is the worst seed among those that had to play in round 1
    # (the worst seed of all, since it always plays round 1).
    assert champion == ids[-1]


@pytest.mark.parametrize("n", TEAM_COUNTS)
@pytest.mark.parametrize("rng_seed", range(5))
def test_play_through_random_winners(n, rng_seed):
    ids = team_ids(n)
    rnd = random.Random(n * 1000 + rng_seed)
    _rounds, champion = play(ids, random_pick(rnd))
    assert champion in ids


# ---- standings from the engine ------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 13, 16])
def test_engine_standings_after_a_full_bracket(n):
    ids = team_ids(n)
    rnd = random.Random(n)
    rounds, champion = play(ids, random_pick(rnd))
    rows = se.standings(ids, rounds, champion)
    assert [r["team_id"] for r in rows].count(champion) == 1
    assert sorted(r["team_id"] for r in rows) == sorted(ids)
    assert rows[0]["team_id"] == champion and rows[0]["rank"] == 1
    final = rounds[-1][0]
    finalist = final["team1_id"] if final["winner"] == final["team2_id"] else final["team2_id"]
    assert rows[1]["team_id"] == finalist and rows[1]["rank"] == 2
    ranks = [r["rank"] for r in rows]
    assert ranks == sorted(ranks)
    assert sum(r["wins"] for r in rows) == sum(r["losses"] for r in rows) == n - 1
    assert [r for r in rows if not r["eliminated"]] == [rows[0]]
