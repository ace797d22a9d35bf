"""Swiss system: each round pairs teams on equal or near scores, never twice the same pair.

Matches are the round-robin dicts `{id, round, position, team1_id, team2_id, status, winner,
scores}`, ids `r{round}_match_{position}`. A new pairing is "pending". A completed match has a
winner, or None for a draw. A bye has `team2_id` None, status "bye" and, unlike round robin,
counts as a win: `winner` is its team. Any other status ("void" for a double forfeit, "pending",
"reported", ...) gives nobody points, but every match between two teams, whatever its status,
counts as a meeting for rematch avoidance; every match without a second team counts as a bye
received.

Pairing round k (`pair_round`), for the active teams (all but the withdrawn):

1. Rank: by score (points (win, draw, loss), a bye worth a win; withdrawn teams' results count
   for their opponents), then by seed. In round 1 everyone has 0, so the rank is the seed.
2. The bye (an odd number of teams): it goes to the lowest-ranked team among those with the
   fewest byes so far, i.e. one that has had none while there is one (when every active team has
   had one, the lowest-ranked gets a second). Among those, the lowest-ranked whose absence still
   lets the others be paired with the fewest rematches (none if possible).
3. The pairs, top down. The highest-ranked unpaired team T picks its partner from, in order:
   - T's score group (the unpaired teams on T's score), Dutch style: with the group's m teams in
     rank order B0 = T .. Bm-1 and h = m // 2, first the bottom half Bh, Bh+1, .., Bm-1 (so an
     unchanged group pairs top half against bottom half: B0-Bh, B1-Bh+1, ...), then the rest of
     the top half from its bottom, Bh-1 .. B1;
   - then the teams below T's score, in rank order (T floats down; the nearest score first).
   A team alone on its score (the lowest of an odd group, or one whose group cannot take it) is
   thus a floater, paired with the highest-ranked team it may meet in the groups below, which is
   the Dutch system's "moved-down player meets the top of the next bracket".
   Partners T has already met come after all others, in the same order.
4. The guarantee: the choices in 2 and 3 are taken greedily but only among those that still let
   the whole round be completed with the fewest rematches possible (no rematch whenever any
   rematch-free pairing of the round exists, with the bye as in 2: the bye rule comes first, and
   a second bye is never given to avoid a rematch). This is checked with a maximum matching
   (Edmonds' blossoms, `matching`) over the "have not met" graph, only when the plain greedy
   pass hits a dead end.
5. The score difference: among the pairings with the fewest rematches (and the bye of 2), the
   round has the smallest total score difference of its pairs, and is the first such in the
   order of 3 (`swiss_cost`). On the usual path the pairing of 4 already has it; otherwise a
   bounded search finds it (exact on every field of up to 16 teams that was checked; on bigger
   fields it may, rarely, stop at a pairing a little dearer).
6. Boards: in the order of the better-ranked team of each pair; team1 is that team; the bye last.

Differences from the FIDE Dutch system (C.04.3): no colours; no rating within a score group (the
seed stands in for it); the bye is fixed before the pairs rather than left over at the bottom;
the whole round's score difference is minimised (as the Dutch criteria C.5-C.7 do by bracket,
through floaters), then the Dutch order decides among equals.

`standings` is round robin's table with the bye counted as a win and unplayed rounds counted as
FIDE C.07 Article 16 says (see `round_robin.standings` and `tiebreaks`).
"""
from bisect import bisect_left
from fractions import Fraction
from itertools import chain
from math import lcm

from . import round_robin, swiss_cost
from .matching import UNMATCHED, augment
from .matches import BYE, COMPLETED, PENDING

DEFAULT_TIEBREAKS = ("buchholz", "median_buchholz", "sonneborn_berger", "seed")


def default_rounds(team_count):
    """Rounds for a Swiss with `team_count` teams: ceil(log2(team_count)), at least 1."""
    return max(1, (max(team_count, 1) - 1).bit_length())


def new_match(round_no, position, team1_id, team2_id):
    """A pending pairing, or a bye (a win for team1) when `team2_id` is None."""
    match = {
        "id": f"r{round_no}_match_{position}", "round": round_no, "position": position,
        "team1_id": team1_id, "team2_id": team2_id, "status": PENDING, "winner": None, "scores": None,
    }
    if team2_id is None:
        match.update(status=BYE, winner=team1_id)
    return match


def standings(team_ids_by_seed, matches, points=(3, 1, 0), tiebreaks=DEFAULT_TIEBREAKS):
    """Round robin's standings with each Swiss bye a win: its points and one of `wins`.

    Buchholz, median Buchholz and Sonneborn-Berger count every round a team did not play (a bye,
    a forfeit, a void match, a round after it withdrew) as FIDE C.07 Article 16 does: a game
    against a dummy on the team's own score, and a withdrawn opponent's absent rounds as draws
    (see `tiebreaks`). Opponents' percentages ignore byes, game-win % counts a bye as 2-0 (MTR).
    Rows carry `byes`; `played` counts games against an opponent, so wins + draws + losses =
    played + byes.
    """
    return round_robin.standings(team_ids_by_seed, matches, points, tiebreaks, bye_wins=True)


def pair_round(round_no, team_ids_by_seed, matches, withdrawn=(), points=(3, 1, 0)):
    """The matches of round `round_no` (1-based) after `matches`, every earlier match in any order.

    `team_ids_by_seed` lists every team, best seed first; `withdrawn` teams are not paired. See the
    module docstring for the rules. :raise ValueError: for fewer than two active teams, repeated
    team ids, a withdrawn team or a match naming a team not in the list.
    """
    teams = list(team_ids_by_seed)
    if len(set(teams)) != len(teams):
        raise ValueError("team ids must be distinct")
    if round_no < 1:
        raise ValueError("rounds are numbered from 1")
    seed = {team_id: number for number, team_id in enumerate(teams, start=1)}
    out = set(withdrawn)
    if not out <= seed.keys():
        raise ValueError("a withdrawn team is not in the tournament")
    score, met, byes = _history(seed, matches, points)
    active = [team_id for team_id in teams if team_id not in out]
    if len(active) < 2:
        raise ValueError("a Swiss round needs at least two active teams")
    ranked = sorted(active, key=lambda team_id: (-score[team_id], seed[team_id]))

    draw = _Draw(ranked, score, met, byes)
    pairs, bye = draw.pairings()
    round_matches = [new_match(round_no, position, ranked[top], ranked[bottom])
                     for position, (top, bottom) in enumerate(sorted(pairs), start=1)]
    if bye is not None:
        round_matches.append(new_match(round_no, len(round_matches) + 1, ranked[bye], None))
    return round_matches


def _history(seed, matches, points):
    """Each team's score (in `_whole_points` units), the set of teams it has met, its number of byes."""
    win, draw, loss = _whole_points(points)
    score = dict.fromkeys(seed, 0)
    met = {team_id: set() for team_id in seed}
    byes = dict.fromkeys(seed, 0)
    for match in matches:
        team1, team2 = match["team1_id"], match["team2_id"]
        if team1 not in seed or (team2 is not None and team2 not in seed) or team1 == team2:
            raise ValueError(f"match {match['id']} is not between known teams")
        if team2 is None:
            byes[team1] += 1
            if match["status"] == BYE:
                score[team1] += win
            continue
        met[team1].add(team2)
        met[team2].add(team1)
        if match["status"] != COMPLETED:
            continue
        winner = match["winner"]
        if winner is None:
            score[team1] += draw
            score[team2] += draw
        elif winner in (team1, team2):
            loser = team2 if winner == team1 else team1
            score[winner] += win
            score[loser] += loss
        else:
            raise ValueError(f"match {match['id']} was won by a team not in it")
    return score, met, byes


def _whole_points(points):
    """(win, draw, loss) as integers in the same ratio: (1, 0.5, 0) -> (2, 1, 0).

    Pairing only compares scores, and integer sums are exact and much faster than Fractions.
    """
    exact = [Fraction(value) for value in points]
    unit = lcm(*(value.denominator for value in exact))
    return tuple(int(value * unit) for value in exact)


class _Draw:
    """One round's pairing problem over the active teams, named by rank (0 = the best).

    The round is a graph: vertices are the ranks, plus one more vertex, `self.bye`, when the count
    is odd (whoever is paired with it sits out). Two vertices may be paired when they have not
    met; the bye vertex may be paired only with the teams allowed a bye. A pairing without
    rematches is a perfect matching of that graph.
    """

    def __init__(self, ranked, score, met, byes):
        count = len(ranked)
        rank = {team_id: index for index, team_id in enumerate(ranked)}
        self.count = count
        self.met = [{rank[other] for other in met[team_id] if other in rank} for team_id in ranked]
        levels = sorted({score[team_id] for team_id in ranked}, reverse=True)
        # level[r]: r's score group, 0 the highest; gap[b]: the score between groups b and b + 1.
        level_of = {value: index for index, value in enumerate(levels)}
        self.level = [level_of[score[team_id]] for team_id in ranked]
        self.gap = [levels[b] - levels[b + 1] for b in range(len(levels) - 1)]
        # group_end[r]: the rank just below r's score group, which is a run of ranks.
        self.group_end = [count] * count
        for r in range(count - 2, -1, -1):
            self.group_end[r] = self.group_end[r + 1] if score[ranked[r]] == score[ranked[r + 1]] else r + 1
        self.bye = None
        self.bye_takers = []
        if count % 2:
            fewest = min(byes[team_id] for team_id in ranked)
            # Lowest-ranked first: the order in which the bye is offered.
            self.bye_takers = [r for r in range(count - 1, -1, -1) if byes[ranked[r]] == fewest]
            self.bye = count
            takers = set(self.bye_takers)
            # Teams not allowed the bye have, in effect, already "met" the bye vertex.
            self.met.append({r for r in range(count) if r not in takers})
            for r in self.met[count]:
                self.met[r].add(count)

    def pairings(self):
        """([(top rank, bottom rank)], bye rank or None): the pairing described in the module docstring."""
        mate = self._greedy()
        if UNMATCHED in mate:
            # A dead end: make the matching maximum, then redo the choices with a lookahead.
            everyone = list(range(len(mate)))
            for vertex in everyone:
                if mate[vertex] == UNMATCHED:
                    augment(vertex, everyone, mate, self.met)
            mate = self._guided(mate)
        mate = swiss_cost.cheapest(self, mate)
        bye = mate[self.bye] if self.bye is not None else None
        pairs = [(r, mate[r]) for r in range(self.count) if r < mate[r] < self.count]
        return pairs, bye

    def _preferences(self, unpaired):
        """The partners of the top unpaired team `unpaired[0]`, best first (rule 3), met or not."""
        top = unpaired[0]
        end = bisect_left(unpaired, self.group_end[top])
        # Alone on its score (end 1), the team floats: its partners are simply the teams below.
        half = max(end // 2, 1)
        indices = chain(range(half, end), range(half - 1, 0, -1), range(end, len(unpaired)))
        return (unpaired[index] for index in indices)

    def _greedy(self):
        """Rules 2 and 3 without lookahead: every choice the first allowed one; UNMATCHED at dead ends."""
        mate = [UNMATCHED] * (self.count + (self.bye is not None))
        unpaired = list(range(self.count))
        if self.bye is not None:
            taker = self.bye_takers[0]
            mate[self.bye], mate[taker] = taker, self.bye
            unpaired.remove(taker)
        while unpaired:
            top = unpaired[0]
            partner = next((p for p in self._preferences(unpaired) if p not in self.met[top]), None)
            del unpaired[0]
            if partner is not None:
                mate[top], mate[partner] = partner, top
                unpaired.remove(partner)
        return mate

    def _guided(self, mate):
        """Rules 2 and 3 with lookahead: each choice the first one that keeps `mate` maximum.

        `mate` is a maximum matching of the whole graph; its size is the most rematch-free pairs
        the round can have. Each accepted choice (a pair, or a rematch when no pair will do) must
        leave the rest of the graph a matching as large as what is still owed, so the finished
        pairing has as few rematches as possible, and it is the first such in rule order.
        """
        final = [UNMATCHED] * len(mate)
        unpaired = list(range(self.count))
        alive = unpaired + ([self.bye] if self.bye is not None else [])
        if self.bye is not None:
            taker = next(r for r in self.bye_takers if self._choose(self.bye, r, mate, alive))
            final[self.bye], final[taker] = taker, self.bye
            unpaired.remove(taker)
        while unpaired:
            top = unpaired[0]
            met = self.met[top]
            partner = next((p for p in self._preferences(unpaired)
                            if p not in met and self._choose(top, p, mate, alive)), None)
            if partner is None:
                # Only when the round cannot do without it: a rematch, in the same order.
                partner = next(p for p in self._preferences(unpaired)
                               if p in met and self._choose(top, p, mate, alive))
            final[top], final[partner] = partner, top
            unpaired.remove(top)
            unpaired.remove(partner)
        return final

    def _choose(self, a, b, mate, alive):
        """Pair `a` with `b` if the rest of `alive` still has a big enough matching; say whether.

        On success `a` and `b` leave `alive` and `mate` becomes a maximum matching of the rest.
        A rest may hold at most |mate| - 1 rematch-free pairs after a fresh pair, |mate| after a
        rematch; only when it reaches that bound is the choice safe.
        """
        if mate[a] == b:
            # Already one of the matching's pairs: the rest of it stays maximum.
            mate[a] = mate[b] = UNMATCHED
            alive.remove(a)
            alive.remove(b)
            return True
        rematch = b in self.met[a]
        trial = list(mate)
        rest = [v for v in alive if v != a and v != b]
        lost = []
        for v in (a, b):
            partner = trial[v]
            if partner != UNMATCHED:
                trial[v] = trial[partner] = UNMATCHED
                if partner not in (a, b):
                    lost.append(partner)
        # Pairs still owed to the rest: the matching lost len(lost) of them, and may keep one fewer
        # after a fresh pair.
        owed = len(lost) - (0 if rematch else 1)
        if owed > 0:
            # Edmonds: any augmenting path now ends at a vertex exposed now (the ones that lost
            # their partner first), and trying each of them once is enough.
            roots = lost + [v for v in rest if trial[v] == UNMATCHED and v not in lost]
            for root in roots:
                if owed <= 0:
                    break
                if trial[root] == UNMATCHED and augment(root, rest, trial, self.met):
                    owed -= 1
        if owed > 0:
            return False
        mate[:] = trial
        alive[:] = rest
        return True
