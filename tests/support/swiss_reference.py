"""An exact reference for Swiss pairings on small fields, for the tests and bench/swiss_quality.py."""
from functools import lru_cache

from tournament_service.engine import swiss


def scores_and_meetings(team_ids, matches, points):
    """({team: score in whole units}, {frozenset pair met}) from `matches`, as the engine counts them."""
    seed = {team: number for number, team in enumerate(team_ids, start=1)}
    score, met, _byes = swiss._history(seed, matches, points)
    return score, {frozenset((a, b)) for a in met for b in met[a]}


def round_cost(round_matches, score, met):
    """(rematches, total score difference) of one round's pairs."""
    pairs = [(m["team1_id"], m["team2_id"]) for m in round_matches if m["team2_id"] is not None]
    return (sum(frozenset(pair) in met for pair in pairs), sum(abs(score[a] - score[b]) for a, b in pairs))


def cheapest(teams, score, met):
    """The least (rematches, total score difference) over every pairing of `teams` (even count)."""
    teams = list(teams)

    @lru_cache(maxsize=None)
    def best(mask):
        if not mask:
            return (0, 0)
        first = (mask & -mask).bit_length() - 1
        rest = mask & ~(1 << first)
        options = []
        others = rest
        while others:
            low = others & -others
            other = low.bit_length() - 1
            others &= ~low
            a, b = teams[first], teams[other]
            sub = best(rest & ~low)
            options.append((sub[0] + (frozenset((a, b)) in met), sub[1] + abs(score[a] - score[b])))
        return min(options)

    return best((1 << len(teams)) - 1)
