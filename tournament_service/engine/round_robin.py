"""Round robin: Berger-table schedules and points standings with configurable tiebreaks.

A match is a plain dict `{id, round, position, team1_id, team2_id, status, winner, scores}`, as in
single elimination; `team1_id` is the home side (White in chess), `position` the board in the
Berger table. A completed match with `winner` None is a draw; `scores` is None or the game scores
`[team1, team2]`.

Schedule convention (FIDE Handbook C.05 Annex 1, "Berger Tables"): with `size` players (an odd
count gets a dummy, the highest number, and whoever meets it has a bye), player `size` stays
fixed and the others 1..size-1 turn round a ring. Round 1 is 1-size, 2-(size-1), ...,
size/2-(size/2+1); each round the ring starts size/2 places further on (mod size-1), board 1
pairs the ring's first player with player `size` (the fixed player is home in even rounds, away
in odd ones), and board k > 1 pairs the ring's k-th player (home) with its (size+1-k)-th. For 6:
1-6 2-5 3-4 | 6-4 5-3 1-2 | 2-6 3-1 4-5 | 6-5 1-4 2-3 | 3-6 4-2 5-1. A double round robin plays
the table twice, the second time with home and away swapped; as FIDE advises (C.05 Annex 1), the
first cycle plays its last two rounds in reverse order, so no one has the same side three rounds
running across the turn of the cycles.
"""
from fractions import Fraction

from . import tiebreaks as tb
from .matches import BYE, COMPLETED, PENDING
from .tiebreaks import DRAW, LOSS, WIN

TIEBREAKS = (
    "head_to_head", "buchholz", "median_buchholz", "sonneborn_berger",
    "opponents_match_win_pct", "game_win_pct", "opponents_game_win_pct", "seed",
)
DEFAULT_TIEBREAKS = ("head_to_head", "buchholz", "sonneborn_berger", "seed")


def berger_table(player_count):
    """FIDE Berger pairings for `player_count` players: per round, (home, away) starting numbers.

    An odd count uses the next even table; the highest number then stands for the bye.
    """
    size = player_count + player_count % 2
    return [berger_round(player_count, round_no) for round_no in range(1, size)]


def berger_round(player_count, round_no):
    """Round `round_no` of the Berger table for `player_count` players, computed on its own."""
    if player_count < 2:
        raise ValueError("a round robin needs at least two teams")
    size = player_count + player_count % 2
    half, ring_size = size // 2, size - 1
    start = (round_no - 1) * half % ring_size
    ring = [(start + k) % ring_size + 1 for k in range(ring_size)]
    first = (ring[0], size) if round_no % 2 else (size, ring[0])
    return [first] + [(ring[k], ring[ring_size - k]) for k in range(1, half)]


def round_count(team_count, double=False):
    """Rounds in the schedule: n - 1 for an even count, n for an odd one; twice that when double."""
    cycle = team_count - 1 + team_count % 2
    return cycle * (2 if double else 1)


def new_match(round_no, position, team1_id, team2_id):
    """A match of the schedule; with `team2_id` None, a bye.

    A bye in round robin is no win, unlike elimination: the team just sits the round out, earns no
    points and has no opponent to count in any tiebreak.
    """
    return {"id": f"r{round_no}_match_{position}", "round": round_no, "position": position,
            "team1_id": team1_id, "team2_id": team2_id, "status": PENDING if team2_id is not None else BYE,
            "winner": None, "scores": None}


def schedule(team_ids_by_seed, double=False):
    """Every round of a (double) round robin for teams listed best seed first (seed k = number k).

    Returns a list of rounds, each a list of matches in board order. A team facing the dummy gets
    a bye match (`team2_id` None, status "bye", winner None). With `double`, the first cycle swaps
    its last two rounds, and the second cycle is the table in its own order with team1 and team2
    swapped (a bye stays a bye).
    """
    teams = _checked_teams(team_ids_by_seed)
    return [schedule_round(teams, round_no, double) for round_no in range(1, round_count(len(teams), double) + 1)]


def _checked_teams(team_ids_by_seed):
    teams = list(team_ids_by_seed)
    if len(teams) < 2:
        raise ValueError("a round robin needs at least two teams")
    if len(set(teams)) != len(teams):
        raise ValueError("team ids must be distinct")
    return teams


def schedule_round(team_ids_by_seed, round_no, double=False):
    """Round `round_no` of `schedule(team_ids_by_seed, double)`, computed without the others: a
    1,024-team round robin has 523,776 matches, and a tournament makes each round when it begins."""
    teams = _checked_teams(team_ids_by_seed)
    cycle_rounds = round_count(len(teams))
    if not 1 <= round_no <= round_count(len(teams), double):
        raise ValueError(f"a round robin of {len(teams)} teams has no round {round_no}")
    swapped, index = divmod(round_no - 1, cycle_rounds)
    if double and not swapped and cycle_rounds >= 2 and index >= cycle_rounds - 2:
        index = 2 * cycle_rounds - 3 - index  # the first cycle plays its last two rounds in reverse

    def team(number):
        # Numbers past the real teams are the dummy: None marks the empty side of a bye.
        return teams[number - 1] if number <= len(teams) else None

    matches = []
    for position, (home, away) in enumerate(berger_round(len(teams), index + 1), start=1):
        pair = (team(away), team(home)) if swapped else (team(home), team(away))
        if None in pair:
            # Whoever the dummy meets, home or away, is listed as team1 of its bye.
            pair = (pair[0] if pair[0] is not None else pair[1], None)
        matches.append(new_match(round_no, position, *pair))
    return matches


def standings(team_ids_by_seed, matches, points=(3, 1, 0), tiebreaks=DEFAULT_TIEBREAKS, bye_wins=False):
    """Rows ranked by points, then by `tiebreaks` in order; teams still level share a rank.

    `matches` is a flat list (every round's matches); only completed matches count, byes and
    pending matches give nothing. `points` is (win, draw, loss). Each row is {rank, team_id, seed,
    played, wins, draws, losses, points, game_wins, game_losses, tiebreaks: {name: value}} with a
    value for every requested tiebreak (None for head_to_head where the team was not tied when it
    applied). Rows sharing a rank are listed by seed.

    With `bye_wins` (the Swiss rules) a match with status "bye" is a win for its team1: the win
    points go to its score and it counts in `wins` (not in `played`, which counts games against an
    opponent, so wins + draws + losses = played + byes), in match-win % as a match won and in
    game-win % as 2-0; each row carries `byes`. Buchholz, median Buchholz and Sonneborn-Berger
    then count every unplayed round (a bye, a forfeit, a void match, a round a withdrawn team was
    not paired in) as FIDE C.07 Article 16 does (see `tiebreaks`). In a round robin a bye is no
    round at all and a forfeit an ordinary result (FIDE C.07 Article 15).

    The tiebreaks:

    - head_to_head: points from the completed matches among the teams tied at that stage only; it
      splits the group when these differ (applied once, not again inside the split groups).
    - buchholz: sum of the opponents' points, one term per match played (Swiss: per round).
    - median_buchholz: buchholz without the single highest and single lowest term (0 with two
      terms or fewer).
    - sonneborn_berger: the opponent's points in full for each win, half for each draw.
    - opponents_match_win_pct: mean over matches of the opponent's points / (win points x rounds),
      each at least 0.33 (MTR); a fraction in [0.33, 1], 0 without opponents. Byes are no opponent.
    - game_win_pct: own game wins / games played, at least 0.33 (MTR); 0 without games.
    - opponents_game_win_pct: mean over matches of the opponent's game_win_pct.
    - seed: the lower seed first.
    """
    unknown = [name for name in tiebreaks if name not in TIEBREAKS]
    if unknown:
        raise ValueError(f"unknown tiebreaks: {', '.join(unknown)}")
    win_points, draw_points, loss_points = (Fraction(value) for value in points)
    awarded = {WIN: win_points, DRAW: draw_points, LOSS: loss_points}
    seed = {team_id: index for index, team_id in enumerate(team_ids_by_seed, start=1)}
    # games[team] is one (opponent, outcome) per completed match, the raw material of everything.
    games = {team_id: [] for team_id in seed}
    game_wins, game_losses = dict.fromkeys(seed, 0), dict.fromkeys(seed, 0)
    byes = dict.fromkeys(seed, 0)
    for match in matches:
        if bye_wins and match["status"] == BYE:
            if match["team1_id"] not in seed or match["team2_id"] is not None:
                raise ValueError(f"match {match['id']} is not a bye of a known team")
            byes[match["team1_id"]] += 1
            continue
        if match["status"] != COMPLETED:
            continue
        team1, team2, winner = match["team1_id"], match["team2_id"], match["winner"]
        if team1 not in seed or team2 not in seed or team1 == team2:
            raise ValueError(f"match {match['id']} is not between two known teams")
        if winner is None:
            outcome1, outcome2 = DRAW, DRAW
        elif winner in (team1, team2):
            outcome1, outcome2 = (WIN, LOSS) if winner == team1 else (LOSS, WIN)
        else:
            raise ValueError(f"match {match['id']} was won by a team not in it")
        games[team1].append((team2, outcome1))
        games[team2].append((team1, outcome2))
        if match.get("scores") is not None:
            score1, score2 = match["scores"]
            game_wins[team1] += score1
            game_losses[team1] += score2
            game_wins[team2] += score2
            game_losses[team2] += score1

    # byes[t] is 0 everywhere unless bye_wins, so round robin's numbers are untouched by it.
    score = {t: sum((awarded[outcome] for _, outcome in games[t]), win_points * byes[t]) for t in seed}
    rounds = {t: len(games[t]) + byes[t] for t in seed}
    match_win = {t: tb.floored(score[t] / (win_points * rounds[t]) if rounds[t] and win_points else Fraction(0))
                 for t in seed}
    game_win = {}
    for t in seed:
        won, lost = game_wins[t] + tb.BYE_GAMES[0] * byes[t], game_losses[t] + tb.BYE_GAMES[1] * byes[t]
        game_win[t] = tb.floored(Fraction(won, won + lost)) if won + lost else Fraction(0)
    if bye_wins:
        terms = tb.swiss_terms(tb.swiss_rounds(seed, matches), score, draw_points)
    else:
        terms = {t: [(score[o], tb.SB_WEIGHT[r], False) for o, r in games[t]] for t in seed}

    def opponents_mean(t, values):
        if not games[t]:
            return Fraction(0)
        return sum(values[opponent] for opponent, _ in games[t]) / len(games[t])

    # Each key is "higher is better" except seed, whose sign is flipped when sorting.
    values = {
        "buchholz": {t: sum((value for value, _, _ in terms[t]), Fraction(0)) for t in seed},
        "median_buchholz": {t: tb.median_buchholz(terms[t]) for t in seed},
        "sonneborn_berger": {t: sum((value * weight for value, weight, _ in terms[t]), Fraction(0))
                             for t in seed},
        "opponents_match_win_pct": {t: opponents_mean(t, match_win) for t in seed},
        "game_win_pct": game_win,
        "opponents_game_win_pct": {t: opponents_mean(t, game_win) for t in seed},
        "seed": {t: -seed[t] for t in seed},
        "head_to_head": dict.fromkeys(seed),
    }

    groups = _split(list(seed), score)
    for name in tiebreaks:
        refined = []
        for group in groups:
            if len(group) < 2:
                refined.append(group)
                continue
            if name == "head_to_head":
                # Only the matches inside this group count, so the value depends on who is tied.
                members = set(group)
                for t in group:
                    values[name][t] = sum((awarded[r] for o, r in games[t] if o in members), Fraction(0))
            refined.extend(_split(group, values[name]))
        groups = refined

    rows, rank = [], 1
    for group in groups:
        for t in group:
            outcomes = [outcome for _, outcome in games[t]]
            row = {
                "rank": rank, "team_id": t, "seed": seed[t], "played": len(outcomes),
                "wins": outcomes.count(WIN) + byes[t], "draws": outcomes.count(DRAW),
                "losses": outcomes.count(LOSS), "points": _plain(score[t]),
                "game_wins": game_wins[t], "game_losses": game_losses[t],
                "tiebreaks": {name: _shown(name, values[name][t], seed[t]) for name in tiebreaks},
            }
            if bye_wins:
                row["byes"] = byes[t]
            rows.append(row)
        rank += len(group)
    return rows


def _split(group, key):
    """`group` (in seed order) cut into runs of equal `key`, highest first; each run keeps seed order."""
    ordered = sorted(group, key=lambda t: -key[t])
    runs = []
    for t in ordered:
        if runs and key[runs[-1][-1]] == key[t]:
            runs[-1].append(t)
        else:
            runs.append([t])
    return runs


def _shown(name, value, seed):
    if name == "seed":
        return seed
    if value is None:
        return None
    if name.endswith("_pct"):
        return float(value)
    return _plain(value)


def _plain(value):
    """An exact Fraction as an int when whole, else a float, for JSON."""
    return int(value) if value.denominator == 1 else float(value)
