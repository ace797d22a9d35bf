"""The cheapest pairing of a Swiss round: the smallest total score difference among the pairings
with the fewest rematches, and among those the first in the order of the pairing rules (`swiss`).

The total score difference of a pairing is the sum, over the boundaries between score groups, of
the score gap there times the number of pairs crossing it. Two lower bounds on those crossings:
a boundary with an odd number of teams above it is crossed at least once (parity), and the teams
on either side that cannot be paired among themselves without a rematch (by a maximum matching,
less two for each rematch the round must have anyway) must all cross it. A pairing on the bound
is the cheapest; most rounds' first pairing (the greedy one of `swiss._Draw`) already is.

Otherwise a search over the choices of rule 3 (each kept only while the rest can still be paired
with the fewest rematches, `_Draw._choose`), depth first in rule order with a cost bound by
parity: pairing the top team across a boundary with an even count above costs two crossings more
than that bound, within its group or across odd boundaries nothing more. It deepens by cost (the
bound it may reach starts at the lower bound and rises to the least it had to drop), so the first
pairing it finds is the cheapest, and the first in rule order among the cheapest. Before that,
where the bounds say a boundary need not be crossed at all, the groups on either side are searched
apart (blocks that cannot pair within themselves joined to their neighbour): exact whenever the
parts together reach the lower bound, and otherwise the pairing the whole search must beat. The
search gives up past `SEARCH_LIMIT` choices (fewer for the whole of a field past `WHOLE_FIELD`
teams) and keeps the best pairing it had: within that it is
exact on every field of up to 16 teams checked (tests, bench/swiss_quality.py), and on 200 rounds
of random 24-team events it matched a search allowed 100 times as many choices.
"""
from bisect import bisect_left, insort

from .matching import UNMATCHED, augment

SEARCH_LIMIT = 3_000
# Past this many teams the search of the whole field (not of a block) gets proportionally fewer
# choices, each costing time in proportion to the field: a 1,024-team round stays within tens of ms.
WHOLE_FIELD = 128


def cheapest(draw, mate):
    """`mate` (a pairing of `draw` with the fewest rematches) made the cheapest; the bye stays."""
    taker = mate[draw.bye] if draw.bye is not None else None
    teams = [r for r in range(draw.count) if r != taker]
    incumbent = cost(draw, [(r, mate[r]) for r in teams if r < mate[r]])
    if incumbent == _total(draw, parity_crossings(draw, teams)):
        return mate
    rematches = sum(1 for r in teams if r < mate[r] and mate[r] in draw.met[r])
    lows = crossing_bounds(draw, teams, rematches)
    target = _total(draw, lows)
    if incumbent == target:
        return mate
    pairs = [(r, mate[r]) for r in teams if r < mate[r]]
    if rematches == 0:
        split = _by_blocks(draw, teams, lows, mate)
        if split is not None and split[0] < incumbent:
            incumbent, pairs = split
    if incumbent > target:
        matching = [UNMATCHED] * len(mate)
        for r in teams:
            if mate[r] not in draw.met[r]:
                matching[r] = mate[r]
        limit = SEARCH_LIMIT * min(1, WHOLE_FIELD / len(teams))
        found = _search(draw, teams, matching, incumbent, target, limit)
        if found is not None:
            pairs = found[1]
    final = [UNMATCHED] * len(mate)
    if taker is not None:
        final[taker], final[draw.bye] = draw.bye, taker
    for a, b in pairs:
        final[a], final[b] = b, a
    return final


def cost(draw, pairs):
    """Total score difference of `pairs` (ranks, the better first)."""
    return sum(sum(draw.gap[draw.level[a]:draw.level[b]]) for a, b in pairs)


def _total(draw, crossings):
    return sum(gap * count for gap, count in zip(draw.gap, crossings))


def parity_crossings(draw, teams):
    """Per boundary, 1 when an odd number of `teams` lie above it, else 0."""
    above = [0] * len(draw.gap)
    for r in teams:
        if draw.level[r] < len(above):  # the lowest group lies below every boundary
            above[draw.level[r]] += 1
    running, parities = 0, []
    for count in above:
        running += count
        parities.append(running % 2)
    return parities


def crossing_bounds(draw, teams, rematches):
    """Per boundary, the fewest pairs of `teams` that can cross it (see the module docstring)."""
    boundaries = range(len(draw.gap))
    above = _left_over(draw, teams, boundaries, lambda r, b: draw.level[r] <= b)
    below = _left_over(draw, teams[::-1], boundaries[::-1], lambda r, b: draw.level[r] > b)[::-1]
    return [max(parity, above[b] - 2 * rematches, below[b] - 2 * rematches)
            for b, parity in enumerate(parity_crossings(draw, teams))]


def _left_over(draw, ordered, boundaries, inside):
    """For each boundary in turn, how many teams a maximum matching leaves unmatched on its side,
    that side being a prefix of `ordered` (`inside` says whether a team is on it). One greedy
    pass serves every boundary; only where it leaves two or more over is the side matched again
    properly (Edmonds)."""
    counts, waiting, side = [], [], []
    index = 0
    for b in boundaries:
        while index < len(ordered) and inside(ordered[index], b):
            r = ordered[index]
            partner = next((p for p in waiting if p not in draw.met[r]), None)
            if partner is None:
                waiting.append(r)
            else:
                waiting.remove(partner)
            side.append(r)
            index += 1
        counts.append(len(waiting) if len(waiting) <= 1 else len(side) - 2 * _matching_size(draw, side))
    return counts


def max_matching(draw, teams, mate=None):
    """A maximum matching of `teams` over pairs that have not met (Edmonds), as a mate list; it
    starts from `mate`'s pairs of two `teams` that have not met, if given, else a greedy one."""
    matching = [UNMATCHED] * (draw.count + 1)
    inside = set(teams)
    waiting = []  # unmatched so far; short, as nearly every team finds a partner at once
    for r in teams:
        if mate is not None:
            if mate[r] in inside and mate[r] not in draw.met[r]:
                matching[r] = mate[r]
            else:
                waiting.append(r)
            continue
        partner = next((p for p in waiting if p not in draw.met[r]), None)
        if partner is None:
            waiting.append(r)
        else:
            waiting.remove(partner)
            matching[r], matching[partner] = partner, r
    # A greedy matching leaving at most one team over is maximum already.
    for r in waiting if len(waiting) > 1 else ():
        if matching[r] == UNMATCHED:
            augment(r, teams, matching, draw.met)
    return matching


def _matching_size(draw, teams):
    mate = max_matching(draw, teams)
    return sum(1 for r in teams if mate[r] != UNMATCHED) // 2


def _by_blocks(draw, teams, lows, mate):
    """(cost, pairs): the cheapest pairing of each block of groups searched on its own, the blocks
    cut where the bounds say no pair need cross, and joined again where a block cannot be paired
    within itself without a rematch; None if that leaves one block, or a search gives up. The
    result reaches the lower bound whenever a pairing crossing none of those cuts does."""
    blocks, current = [], []
    for r in teams:
        if current and any(lows[b] == 0 for b in range(draw.level[current[-1]], draw.level[r])):
            blocks.append(current)
            current = []
        current.append(r)
    blocks.append(current)
    index = 0
    matchings = []
    while index < len(blocks) and len(blocks) > 1:
        matching = max_matching(draw, blocks[index], mate)
        if sum(1 for r in blocks[index] if matching[r] != UNMATCHED) < len(blocks[index]):
            # Join it to the next block (the last one to the one before) and look again.
            join = index if index + 1 < len(blocks) else index - 1
            blocks[join:join + 2] = [blocks[join] + blocks[join + 1]]
            index, matchings = 0, []
            continue
        matchings.append(matching)
        index += 1
    if len(blocks) == 1:
        return None
    total, pairs = 0, []
    for block, matching in zip(blocks, matchings):
        found = _search(draw, block, matching, None, _total(draw, crossing_bounds(draw, block, 0)))
        if found is None:
            return None
        total += found[0]
        pairs += found[1]
    return total, pairs


def _search(draw, teams, matching, incumbent, target, limit=SEARCH_LIMIT):
    """(cost, pairs) of the first pairing of `teams` in rule order that is cheapest, or None if the
    search finds none as cheap as `incumbent` (a cost, or None) before its limit. `matching` is a
    maximum matching of `teams` over pairs that have not met; `target` a lower bound on the cost.

    Iterative deepening on the cost: a depth-first search in rule order that drops every choice
    whose bound exceeds a threshold, the threshold raised to the least bound it dropped until a
    pairing is found. The first found is the cheapest, and the first in rule order among those.
    """
    odd = [bool(parity) for parity in parity_crossings(draw, teams)]
    found, chosen, tried = [None], [], [0]
    dropped = [float("inf")]

    def search(bound, matching, alive, threshold):
        if not alive:
            found[0] = (bound, list(chosen))
            return
        top = alive[0]
        start = draw.level[top]
        met = draw.met[top]
        # Partners met before only after all others, each pass in rule order. Partners come
        # group by group downwards, so `extra` only grows along a pass: past the first too dear,
        # all are.
        for rematch in (False, True):
            for partner in draw._preferences(alive):
                if (partner in met) != rematch:
                    continue
                crossed = range(start, draw.level[partner])
                extra = 2 * sum(draw.gap[b] for b in crossed if not odd[b])
                if bound + extra > threshold:
                    dropped[0] = min(dropped[0], bound + extra)
                    break
                if tried[0] > limit:
                    return
                tried[0] += 1
                if matching[top] == partner:
                    # One of the matching's pairs: the rest of it stays maximum, no copy needed.
                    trial, rest = matching, alive
                    matching[top] = matching[partner] = UNMATCHED
                    del alive[bisect_left(alive, partner)]
                    del alive[0]
                else:
                    trial, rest = list(matching), list(alive)
                    if not draw._choose(top, partner, trial, rest):
                        continue
                for b in crossed:
                    odd[b] = not odd[b]
                chosen.append((top, partner))
                search(bound + extra, trial, rest, threshold)
                chosen.pop()
                for b in crossed:
                    odd[b] = not odd[b]
                if trial is matching:
                    matching[top], matching[partner] = partner, top
                    alive.insert(0, top)
                    insort(alive, partner)
                if found[0] is not None:
                    return

    root = sum(draw.gap[b] for b, is_odd in enumerate(odd) if is_odd)
    threshold = max(root, target)
    while found[0] is None and tried[0] <= limit:
        if incumbent is not None and threshold > incumbent:
            return None
        dropped[0] = float("inf")
        search(root, matching, list(teams), threshold)
        if dropped[0] == float("inf"):
            break
        threshold = dropped[0]
    return found[0]
