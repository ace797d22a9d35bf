"""Round-robin schedules (Berger tables) and standings in tournament_service/engine/round_robin.py."""
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tournament_service.engine import round_robin as rr

TEAM_COUNTS = range(2, 21)


def pairs(rounds):
    return [[(m["team1_id"], m["team2_id"]) for m in matches] for matches in rounds]


def flat(rounds):
    return [match for matches in rounds for match in matches]


# ---- Berger tables --------------------------------------------------------------------------------

# FIDE Handbook C.05 Annex 1 (Berger Tables), "5 or 6 players"; home (White) first.
BERGER_6 = [
    [(1, 6), (2, 5), (3, 4)],
    [(6, 4), (5, 3), (1, 2)],
    [(2, 6), (3, 1), (4, 5)],
    [(6, 5), (1, 4), (2, 3)],
    [(3, 6), (4, 2), (5, 1)],
]
# FIDE "7 or 8 players"; with 7 teams, number 8 is the bye.
BERGER_8 = [
    [(1, 8), (2, 7), (3, 6), (4, 5)],
    [(8, 5), (6, 4), (7, 3), (1, 2)],
    [(2, 8), (3, 1), (4, 7), (5, 6)],
    [(8, 6), (7, 5), (1, 4), (2, 3)],
    [(3, 8), (4, 2), (5, 1), (6, 7)],
    [(8, 7), (1, 6), (2, 5), (3, 4)],
    [(4, 8), (5, 3), (6, 2), (7, 1)],
]
# FIDE "9 or 10 players".
BERGER_10 = [
    [(1, 10), (2, 9), (3, 8), (4, 7), (5, 6)],
    [(10, 6), (7, 5), (8, 4), (9, 3), (1, 2)],
    [(2, 10), (3, 1), (4, 9), (5, 8), (6, 7)],
    [(10, 7), (8, 6), (9, 5), (1, 4), (2, 3)],
    [(3, 10), (4, 2), (5, 1), (6, 9), (7, 8)],
    [(10, 8), (9, 7), (1, 6), (2, 5), (3, 4)],
    [(4, 10), (5, 3), (6, 2), (7, 1), (8, 9)],
    [(10, 9), (1, 8), (2, 7), (3, 6), (4, 5)],
    [(5, 10), (6, 4), (7, 3), (8, 2), (9, 1)],
]


def test_schedule_6_is_the_fide_berger_table():
    rounds = rr.schedule([1, 2, 3, 4, 5, 6])
    assert pairs(rounds) == BERGER_6
    assert [[m["id"] for m in matches] for matches in rounds] == [
        [f"r{r}_match_{p}" for p in (1, 2, 3)] for r in range(1, 6)]
    assert all(m["round"] == r for r, matches in enumerate(rounds, 1) for m in matches)
    assert all(m["position"] == p for matches in rounds for p, m in enumerate(matches, 1))
    assert all(m["status"] == "pending" and m["winner"] is None and m["scores"] is None
               for m in flat(rounds))


def test_schedule_7_is_the_8_table_with_8_as_the_bye():
    rounds = rr.schedule([1, 2, 3, 4, 5, 6, 7])
    expected = [[(a, b) if 8 not in (a, b) else (a if b == 8 else b, None) for a, b in table_round]
                for table_round in BERGER_8]
    assert pairs(rounds) == expected
    assert pairs(rounds)[:2] == [[(1, None), (2, 7), (3, 6), (4, 5)],
                                 [(5, None), (6, 4), (7, 3), (1, 2)]]
    byes = [m for m in flat(rounds) if m["team2_id"] is None]
    assert [m["team1_id"] for m in byes] == [1, 5, 2, 6, 3, 7, 4]
    # A round-robin bye is not a win.
    assert all(m["status"] == "bye" and m["winner"] is None and m["position"] == 1 for m in byes)
    assert all(m["status"] == "pending" for m in flat(rounds) if m["team2_id"] is not None)


@pytest.mark.parametrize("count, table", [(4, [[(1, 4), (2, 3)], [(4, 3), (1, 2)], [(2, 4), (3, 1)]]),
                                          (6, BERGER_6), (8, BERGER_8), (10, BERGER_10)])
def test_berger_table_matches_fide(count, table):
    assert rr.berger_table(count) == table
    assert rr.berger_table(count - 1) == table


def test_schedule_uses_team_ids_by_seed():
    rounds = rr.schedule(["a", "b", "c", "d"])
    assert pairs(rounds) == [[("a", "d"), ("b", "c")], [("d", "c"), ("a", "b")], [("b", "d"), ("c", "a")]]


def test_double_round_robin_repeats_with_home_and_away_swapped():
    rounds = rr.schedule([1, 2, 3, 4, 5, 6], double=True)
    # FIDE: the first cycle plays its last two rounds the other way round.
    first_cycle = BERGER_6[:3] + [BERGER_6[4], BERGER_6[3]]
    assert pairs(rounds) == first_cycle + [[(b, a) for a, b in r] for r in BERGER_6]
    assert rounds[5][0]["id"] == "r6_match_1" and rounds[5][0]["round"] == 6
    odd = pairs(rr.schedule([1, 2, 3], double=True))
    assert odd == [[(1, None), (2, 3)], [(2, None), (3, 1)], [(3, None), (1, 2)],
                   [(1, None), (3, 2)], [(3, None), (2, 1)], [(2, None), (1, 3)]]


def test_double_round_robin_never_gives_a_side_three_rounds_running_at_the_turn():
    for n in (4, 6, 8, 10):
        rounds = rr.schedule(list(range(1, n + 1)), double=True)
        turn = rounds[n - 3:n + 1]  # the last two rounds of the first cycle, the first two of the second
        for team in range(1, n + 1):
            home = [next(m["team1_id"] == team for m in r if team in (m["team1_id"], m["team2_id"])) for r in turn]
            assert home[:3] not in ([True] * 3, [False] * 3) and home[1:] not in ([True] * 3, [False] * 3), \
                (n, team, home)


@pytest.mark.parametrize("bad", [[], ["a"], ["a", "b", "a"]])
def test_schedule_rejects_too_few_or_repeated_teams(bad):
    with pytest.raises(ValueError):
        rr.schedule(bad)


@pytest.mark.parametrize("double", [False, True])
@pytest.mark.parametrize("n", TEAM_COUNTS)
def test_schedule_invariants(n, double):
    teams = [f"team_{i}" for i in range(1, n + 1)]
    rounds = rr.schedule(teams, double=double)
    cycles = 2 if double else 1
    cycle_rounds = n - 1 if n % 2 == 0 else n
    assert len(rounds) == cycle_rounds * cycles == rr.round_count(n, double)

    for round_no, matches in enumerate(rounds, start=1):
        seen = [t for m in matches for t in (m["team1_id"], m["team2_id"]) if t is not None]
        # Everyone appears exactly once a round: plays once, or sits out once on a bye.
        assert sorted(seen) == sorted(teams)
        assert len(matches) == (n + 1) // 2
        assert [m["id"] for m in matches] == [f"r{round_no}_match_{p}" for p in range(1, len(matches) + 1)]
        for m in matches:
            assert m["team1_id"] is not None and m["team1_id"] != m["team2_id"]
            assert m["status"] == ("bye" if m["team2_id"] is None else "pending")
            assert m["winner"] is None

    played = [m for m in flat(rounds) if m["team2_id"] is not None]
    meetings = Counter(frozenset((m["team1_id"], m["team2_id"])) for m in played)
    assert len(meetings) == n * (n - 1) // 2
    assert set(meetings.values()) == {cycles}
    if double:
        legs = Counter((m["team1_id"], m["team2_id"]) for m in played)
        assert set(legs.values()) == {1}  # each ordered (home, away) once: the legs are swapped
        first = pairs(rounds[:cycle_rounds])
        if cycle_rounds >= 2:
            first = first[:-2] + [first[-1], first[-2]]  # back to table order
        assert pairs(rounds[cycle_rounds:]) == [[(b, a) if b is not None else (a, None) for a, b in r] for r in first]

    for cycle in range(cycles):
        part = flat(rounds[cycle * cycle_rounds:(cycle + 1) * cycle_rounds])
        byes = Counter(m["team1_id"] for m in part if m["team2_id"] is None)
        if n % 2:
            assert byes == Counter(teams)  # exactly one bye per team per cycle
        else:
            assert not byes


# ---- standings: a hand-computed table -------------------------------------------------------------


def result(round_no, position, team1, team2, winner, scores=None):
    return {"id": f"r{round_no}_match_{position}", "round": round_no, "position": position,
            "team1_id": team1, "team2_id": team2, "status": "completed", "winner": winner,
            "scores": scores}


def bye(round_no, team):
    return {"id": f"r{round_no}_match_1", "round": round_no, "position": 1, "team1_id": team,
            "team2_id": None, "status": "bye", "winner": None, "scores": None}


def pending(round_no, position, team1, team2):
    return dict(result(round_no, position, team1, team2, None), status="pending")


TEAMS = ["A", "B", "C", "D", "E"]  # seeds 1..5
# The 5-team Berger schedule (6 = bye) after four of its five rounds; round 5 not yet played.
HAND_MATCHES = [
    bye(1, "A"), result(1, 2, "B", "E", "B", [2, 1]), result(1, 3, "C", "D", None),
    bye(2, "D"), result(2, 2, "E", "C", "E", [2, 0]), result(2, 3, "A", "B", "A", [2, 0]),
    bye(3, "B"), result(3, 2, "C", "A", None, [1, 1]), result(3, 3, "D", "E", "D", [2, 1]),
    bye(4, "E"), result(4, 2, "A", "D", None, [1, 1]), result(4, 3, "B", "C", "C", [1, 2]),
    bye(5, "C"), pending(5, 2, "D", "B"), pending(5, 3, "E", "A"),
]
# Points 3/1/0; byes and pending matches give nothing.
#   A: W B, D C, D D          -> 3+1+1 = 5   (1W 2D 0L, played 3)
#   B: W E, L A, L C          -> 3         (1W 0D 2L)
#   C: D D, L E, D A, W B     -> 1+0+1+3 = 5 (1W 2D 1L, played 4)
#   D: D C, W E, D A          -> 1+3+1 = 5   (1W 2D 0L)
#   E: L B, W C, L D          -> 3         (1W 0D 2L)
# Buchholz (sum of opponents' points):
#   A: B3 + C5 + D5 = 13   B: E3 + A5 + C5 = 13   C: D5 + E3 + A5 + B3 = 16
#   D: C5 + E3 + A5 = 13   E: B3 + C5 + D5 = 13
# Median Buchholz (drop one highest and one lowest term):
#   A: [3,5,5] -> 5   B: [3,5,5] -> 5   C: [3,3,5,5] -> 8   D: [3,5,5] -> 5   E: [3,5,5] -> 5
# Sonneborn-Berger (beaten opponents' points + half of drawn opponents' points):
#   A: B3 + (C5 + D5)/2 = 8   B: E3 = 3   C: B3 + (D5 + A5)/2 = 8   D: E3 + (C5 + A5)/2 = 8   E: C5 = 5
# Head-to-head inside the point groups: {A, C, D} drew each other, 2 points each, no split;
#   {B, E}: B beat E, B 3, E 0.
# Match-win % = points / (3 x played): A 5/9, B 1/3, C 5/12, D 5/9, E 1/3 (none below the floor).
#   OMW%: A (1/3 + 5/12 + 5/9)/3 = 47/108; B (1/3 + 5/9 + 5/12)/3 = 47/108;
#         C (5/9 + 1/3 + 5/9 + 1/3)/4 = 4/9; D (5/12 + 1/3 + 5/9)/3 = 47/108; E same as A = 47/108
# Games (C-D has no scores): A 4-2, B 3-5, C 3-4, D 3-2, E 4-4
#   GW%: A 2/3, B 3/8, C 3/7, D 3/5, E 1/2
#   OGW%: A (3/8 + 3/7 + 3/5)/3 = 131/280; B (1/2 + 2/3 + 3/7)/3 = 67/126;
#         C (3/5 + 1/2 + 2/3 + 3/8)/4 = 257/480; D (3/7 + 1/2 + 2/3)/3 = 67/126;
#         E (3/8 + 3/7 + 3/5)/3 = 131/280
# Default order (head-to-head, Buchholz, Sonneborn-Berger, seed):
#   5 points: h2h level -> Buchholz C 16 first; A and D 13 each -> SB 8 each -> seed A (1) before D (4).
#   3 points: h2h B above E (though E has the better SB, 5 against 3).
HAND = {
    # team: (played, wins, draws, losses, points, game_wins, game_losses)
    "A": (3, 1, 2, 0, 5, 4, 2),
    "B": (3, 1, 0, 2, 3, 3, 5),
    "C": (4, 1, 2, 1, 5, 3, 4),
    "D": (3, 1, 2, 0, 5, 3, 2),
    "E": (3, 1, 0, 2, 3, 4, 4),
}
HAND_TIEBREAKS = {
    # team: head_to_head, buchholz, median_buchholz, sonneborn_berger, OMW%, GW%, OGW%
    "A": (2, 13, 5, 8, Fraction(47, 108), Fraction(2, 3), Fraction(131, 280)),
    "B": (3, 13, 5, 3, Fraction(47, 108), Fraction(3, 8), Fraction(67, 126)),
    "C": (2, 16, 8, 8, Fraction(4, 9), Fraction(3, 7), Fraction(257, 480)),
    "D": (2, 13, 5, 8, Fraction(47, 108), Fraction(3, 5), Fraction(67, 126)),
    "E": (0, 13, 5, 5, Fraction(47, 108), Fraction(1, 2), Fraction(131, 280)),
}


def ranking(rows):
    return [(row["rank"], row["team_id"]) for row in rows]


def test_hand_computed_table_default_tiebreaks():
    rows = rr.standings(TEAMS, HAND_MATCHES)
    assert ranking(rows) == [(1, "C"), (2, "A"), (3, "D"), (4, "B"), (5, "E")]
    for row in rows:
        assert (row["played"], row["wins"], row["draws"], row["losses"], row["points"],
                row["game_wins"], row["game_losses"]) == HAND[row["team_id"]]
        assert row["seed"] == TEAMS.index(row["team_id"]) + 1
        h2h, buchholz, _, sonneborn_berger, *_ = HAND_TIEBREAKS[row["team_id"]]
        assert row["tiebreaks"] == {"head_to_head": h2h, "buchholz": buchholz,
                                    "sonneborn_berger": sonneborn_berger, "seed": row["seed"]}


def test_hand_computed_table_every_tiebreak_value():
    rows = rr.standings(TEAMS, HAND_MATCHES, tiebreaks=rr.TIEBREAKS)
    for row in rows:
        expected = HAND_TIEBREAKS[row["team_id"]]
        got = row["tiebreaks"]
        assert list(got) == list(rr.TIEBREAKS)
        assert [got[name] for name in rr.TIEBREAKS[:4]] == list(expected[:4])
        assert [got[name] for name in rr.TIEBREAKS[4:7]] == pytest.approx([float(v) for v in expected[4:]])
        assert got["seed"] == row["seed"]
    assert ranking(rows) == [(1, "C"), (2, "A"), (3, "D"), (4, "B"), (5, "E")]


def test_hand_computed_table_other_orders():
    # Sonneborn-Berger alone: A, C and D all have 8 and share first place; E (5) passes B (3).
    assert ranking(rr.standings(TEAMS, HAND_MATCHES, tiebreaks=("sonneborn_berger",))) == [
        (1, "A"), (1, "C"), (1, "D"), (4, "E"), (5, "B")]
    # Without seed, A and D cannot be separated and share second place.
    no_seed = ("head_to_head", "buchholz", "sonneborn_berger")
    assert ranking(rr.standings(TEAMS, HAND_MATCHES, tiebreaks=no_seed)) == [
        (1, "C"), (2, "A"), (2, "D"), (4, "B"), (5, "E")]
    # Game-win % alone: A 2/3 > D 3/5 > C 3/7 on 5 points; E 1/2 > B 3/8 on 3.
    assert ranking(rr.standings(TEAMS, HAND_MATCHES, tiebreaks=("game_win_pct",))) == [
        (1, "A"), (2, "D"), (3, "C"), (4, "E"), (5, "B")]
    # Median Buchholz: C 8, then A and D 5 each (tied); no tiebreaks at all: pure points.
    assert ranking(rr.standings(TEAMS, HAND_MATCHES, tiebreaks=("median_buchholz",))) == [
        (1, "C"), (2, "A"), (2, "D"), (4, "B"), (4, "E")]
    assert ranking(rr.standings(TEAMS, HAND_MATCHES, tiebreaks=())) == [
        (1, "A"), (1, "C"), (1, "D"), (4, "B"), (4, "E")]


def test_other_points_scheme():
    rows = {row["team_id"]: row for row in rr.standings(TEAMS, HAND_MATCHES, points=(1, 0.5, 0))}
    # A 1 + 0.5 + 0.5 = 2; B 1; C 0.5 + 0 + 0.5 + 1 = 2; D 0.5 + 1 + 0.5 = 2; E 1.
    assert {t: row["points"] for t, row in rows.items()} == {"A": 2, "B": 1, "C": 2, "D": 2, "E": 1}
    # SB for A: B 1 + (C 2 + D 2) / 2 = 3.
    assert rows["A"]["tiebreaks"]["sonneborn_berger"] == 3
    assert rows["B"]["tiebreaks"]["sonneborn_berger"] == 1


def test_head_to_head_that_does_not_separate_falls_through_and_is_none_when_untied():
    matches = [result(1, 1, "X", "Y", "X"), result(1, 2, "W", "Z", "W"),
               result(2, 1, "Y", "Z", "Y"), result(2, 2, "W", "X", "X"),
               result(3, 1, "Y", "W", None), result(3, 2, "Z", "X", "Z")]
    # X: W Y, W W, L Z = 6; Y: L X, W Z, D W = 4; W: W Z, L X, D Y = 4; Z: L W, L Y, W X = 3.
    rows = rr.standings(["X", "Y", "W", "Z"], matches)
    by_team = {row["team_id"]: row for row in rows}
    assert {t: r["points"] for t, r in by_team.items()} == {"X": 6, "Y": 4, "W": 4, "Z": 3}
    # Y and W drew: h2h 1 each, no split; Buchholz Y: X6 + Z3 + W4 = 13, W: Z3 + X6 + Y4 = 13;
    # SB Y: Z3 + W4/2 = 5, W: Z3 + Y4/2 = 5; seed Y (2) before W (3).
    assert ranking(rows) == [(1, "X"), (2, "Y"), (3, "W"), (4, "Z")]
    assert by_team["X"]["tiebreaks"]["head_to_head"] is None
    assert by_team["Z"]["tiebreaks"]["head_to_head"] is None
    assert by_team["Y"]["tiebreaks"]["head_to_head"] == 1 == by_team["W"]["tiebreaks"]["head_to_head"]


def test_head_to_head_overrules_buchholz():
    # P beat Q and both end on 3 points, but Q faced the stronger field.
    matches = [result(1, 1, "P", "Q", "P"), result(1, 2, "Q", "X", "Q"), result(1, 3, "P", "Y", "Y"),
               result(2, 1, "X", "Z", "X"), result(2, 2, "X", "W", "X"), result(2, 3, "Y", "Z", None)]
    # Points: X 6, Y 4, P 3, Q 3, Z 1, W 0.
    # Buchholz P: Q3 + Y4 = 7; Q: P3 + X6 = 9. Head-to-head in {P, Q}: P 3, Q 0.
    teams = ["Q", "P", "X", "Y", "Z", "W"]  # Q seeded above P, so the seed does not decide it
    rows = rr.standings(teams, matches)
    assert ranking(rows) == [(1, "X"), (2, "Y"), (3, "P"), (4, "Q"), (5, "Z"), (6, "W")]
    assert [row["tiebreaks"]["buchholz"] for row in rows[2:4]] == [7, 9]
    assert ranking(rr.standings(teams, matches, tiebreaks=("buchholz", "head_to_head")))[2:4] == [
        (3, "Q"), (4, "P")]


def test_percentages_floored_at_0_33_as_mtr_says():
    # G beat H twice (double round robin of two): H has 0 match wins and 0/4 games.
    # MTR Appendix C: a match-win or game-win % below 0.33 counts as 0.33 (this test once asserted
    # the old floor of 1/3, and an own game-win % left at 0.0, which MTR floors as well).
    matches = [result(1, 1, "G", "H", "G", [2, 0]), result(2, 1, "H", "G", "G", [0, 2])]
    rows = {row["team_id"]: row for row in rr.standings(
        ["G", "H"], matches, tiebreaks=("opponents_match_win_pct", "game_win_pct", "opponents_game_win_pct"))}
    assert rows["G"]["tiebreaks"] == {"opponents_match_win_pct": 0.33, "game_win_pct": 1.0,
                                      "opponents_game_win_pct": 0.33}
    assert rows["H"]["tiebreaks"] == {"opponents_match_win_pct": 1.0, "game_win_pct": 0.33,
                                      "opponents_game_win_pct": 1.0}
    assert rows["G"]["rank"] == 1 and rows["H"]["rank"] == 2


def test_an_opponent_on_exactly_a_third_beats_a_winless_one():
    # A and B (3 points each) beat one opponent each: A beat P, who ends 1-2 (match-win 3/9, just
    # above MTR's 0.33); B beat Q, who ends 0-3 (0, floored to 0.33). A floor of exactly 1/3 made
    # both 1/3 and let the seed put B first; with MTR's 0.33, A's opponent was the stronger one.
    matches = [result(1, 1, "A", "P", "A"), result(1, 2, "B", "Q", "B"), result(2, 1, "P", "R", "P"),
               result(2, 2, "S", "Q", "S"), result(3, 1, "S", "P", "S"), result(3, 2, "R", "Q", "R")]
    rows = rr.standings(["B", "A", "P", "Q", "R", "S"], matches, tiebreaks=("opponents_match_win_pct", "seed"))
    # On 3 points: P (opponents A 1, R 1/2, S 1: 5/6), A (P 1/3), R (P 1/3, Q 0.33: 0.33166..), B (Q 0.33).
    assert ranking(rows) == [(1, "S"), (2, "P"), (3, "A"), (4, "R"), (5, "B"), (6, "Q")]
    omw = {row["team_id"]: row["tiebreaks"]["opponents_match_win_pct"] for row in rows}
    assert omw["A"] == pytest.approx(1 / 3) and omw["B"] == 0.33
    assert omw["R"] == pytest.approx((Fraction(1, 3) + Fraction(33, 100)) / 2)


def test_game_win_pct_counts_a_swiss_bye_as_won_2_0():
    # X won 2-1 and had a bye: MTR counts the bye as a 2-0 win, so 4 games won of 5 (not 2 of 3).
    matches = [result(1, 1, "X", "Y", "X", [2, 1]), dict(bye(2, "X"), winner="X"), result(2, 2, "Y", "Z", "Z", [0, 2])]
    rows = {row["team_id"]: row for row in rr.standings(
        ["X", "Y", "Z"], matches, tiebreaks=("game_win_pct", "opponents_game_win_pct"), bye_wins=True)}
    assert rows["X"]["tiebreaks"]["game_win_pct"] == 0.8
    # The games shown are the games played; the bye's 2-0 is only in the percentage.
    assert (rows["X"]["game_wins"], rows["X"]["game_losses"]) == (2, 1)
    # Y's opponents: X (4/5) and Z (2/2); Y's own 1/5 is floored to 0.33.
    assert rows["Y"]["tiebreaks"] == {"game_win_pct": 0.33, "opponents_game_win_pct": pytest.approx(0.9)}
    # Round robin: a bye is no game at all.
    plain = {row["team_id"]: row for row in rr.standings(["X", "Y", "Z"], matches, tiebreaks=("game_win_pct",))}
    assert plain["X"]["tiebreaks"]["game_win_pct"] == pytest.approx(2 / 3)


def test_byes_give_nothing():
    rounds = rr.schedule(["a", "b", "c"])
    rows = rr.standings(["a", "b", "c"], flat(rounds), tiebreaks=rr.TIEBREAKS)
    assert [row["rank"] for row in rows] == [1, 2, 3]  # only the seed separates
    for row in rows:
        assert (row["played"], row["points"], row["wins"]) == (0, 0, 0)
        assert row["tiebreaks"]["buchholz"] == 0 and row["tiebreaks"]["opponents_match_win_pct"] == 0


def test_standings_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown tiebreaks"):
        rr.standings(TEAMS, HAND_MATCHES, tiebreaks=("coin_toss",))
    with pytest.raises(ValueError):
        rr.standings(TEAMS, [result(1, 1, "A", "Q", "A")])
    with pytest.raises(ValueError):
        rr.standings(TEAMS, [result(1, 1, "A", "B", "C")])


# ---- property: random results on random schedules --------------------------------------------------


@st.composite
def played_schedules(draw):
    n = draw(st.integers(min_value=2, max_value=12))
    teams = [f"t{i}" for i in draw(st.permutations(range(1, n + 1)))]
    rounds = rr.schedule(teams, double=draw(st.booleans()))
    matches = []
    for match in flat(rounds):
        if match["status"] == "bye":
            matches.append(match)
            continue
        outcome = draw(st.sampled_from(["team1", "team2", "draw", "pending"]))
        if outcome == "pending":
            matches.append(match)
            continue
        winner = {"team1": match["team1_id"], "team2": match["team2_id"], "draw": None}[outcome]
        scores = draw(st.none() | st.tuples(st.integers(0, 3), st.integers(0, 3)).map(list))
        matches.append(dict(match, status="completed", winner=winner, scores=scores))
    points = draw(st.sampled_from([(3, 1, 0), (2, 1, 0), (1, 0.5, 0), (3, 0, 0)]))
    tiebreaks = draw(st.lists(st.sampled_from(rr.TIEBREAKS), unique=True, max_size=len(rr.TIEBREAKS)))
    return teams, matches, points, tuple(tiebreaks)


@settings(max_examples=200, deadline=None)
@given(played_schedules())
def test_standings_properties(case):
    teams, matches, points, tiebreaks = case
    rows = rr.standings(teams, matches, points=points, tiebreaks=tiebreaks)

    assert sorted(row["team_id"] for row in rows) == sorted(teams)
    ranks = [row["rank"] for row in rows]
    assert ranks[0] == 1
    assert ranks == sorted(ranks)
    # Standard competition ranking: a rank is 1 + the number of teams above.
    assert all(rank == 1 + sum(1 for r in ranks if r < rank) for rank in ranks)
    assert all(row["points"] >= rows[i + 1]["points"] for i, row in enumerate(rows[:-1]))

    completed = [m for m in matches if m["status"] == "completed"]
    win, draw, loss = points
    awarded = sum(2 * draw if m["winner"] is None else win + loss for m in completed)
    assert sum(row["points"] for row in rows) == pytest.approx(awarded)
    assert sum(row["played"] for row in rows) == 2 * len(completed)
    assert sum(row["wins"] for row in rows) == sum(row["losses"] for row in rows)
    assert all(row["wins"] + row["draws"] + row["losses"] == row["played"] for row in rows)
    assert sum(row["game_wins"] for row in rows) == sum(row["game_losses"] for row in rows)
    assert all(list(row["tiebreaks"]) == list(tiebreaks) for row in rows)
    if "seed" in tiebreaks:
        assert len(set(ranks)) == len(ranks)
