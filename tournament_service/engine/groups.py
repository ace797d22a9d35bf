"""Group stage then playoff (the group_playoff format): groups, their round robins, the playoff field.

Groups. `snake_groups` fills `g` groups from a seed list by snake seeding: seeds 1..g go to
groups A..(g-th) in order, seeds g+1..2g in reverse order, seeds 2g+1..3g in order again, and so
on, so group sizes differ by at most one and every group gets a fair share of strong and weak
teams. Groups are labelled A..Z, AA, AB, ... (`group_label`) and list their teams best seed first.

Group matches. Each group plays a (double) round robin, `round_robin.schedule` of its teams in
that order. `group_matches` gives them as one flat list, round by round (round k of every group is
played at the same time), groups in order inside a round, boards in order inside a group. Every
match keeps its round-robin fields and gains `"group": label`; its id becomes
`f"{label}_r{round}_m{position}"` (round and board inside its group), unique across groups.

Playoff field. From each group's final standings the top `advance_per_group` teams go to a
single-elimination playoff (`single_elimination.seed_order`: seeds 1 and 2 meet only in the final,
byes go to the top seeds). `playoff_seeding` seeds them in tiers: the group winners take seeds
1..g in group order (A1 = 1, B1 = 2, ...), the runners-up take seeds g+1..2g, the thirds 2g+1..3g,
and so on. The winners' tier is fixed; every later tier, in turn, is the assignment of its groups
to its g seeds that, against the teams of the same group already seeded (earlier tiers), has

1. the fewest possible meetings in round 1 (two positions "meet" in the first round where they
   could play each other, `first_meeting_round`), then the fewest in round 2, and so on: an
   earlier meeting outweighs any number of later ones;
2. among those, its groups in the most natural order: the tier's best seed goes to the earliest
   group possible, then the next seed, and so on (so 4 groups x 2 gives runners-up B2 A2 D2 C2).

Each tier is solved exactly (a minimum-cost assignment, the Hungarian method, O(g^3)), so the
result is deterministic and fast for any number of groups. Tiers are optimised one after another,
not jointly. What that guarantees:

- With g >= 2, every group's winner and runner-up are in opposite halves (they can meet only in
  the final): the upper half holds seeds 1, 4, 5, 8, 9, ... (seed mod 4 in {0, 1}), so exactly as
  many of seeds 1..g lie in one half as of seeds g+1..2g lie in the other, and the runners-up can
  always be mirrored; that profile (no meeting before the final) is the best one possible.
- No two teams of one group meet in round 1 when g >= advance_per_group: a seed's round-1
  opponent forbids it at most one group, and the only way a tier can have no meeting-free
  assignment is that all g of its seeds face teams of one and the same group, which has at most
  advance_per_group - 1 teams seeded before. For g = 2 or 3 with 3 or 4 advancing (more than
  groups), an exhaustive search of all tier orders shows none are needed either, and this rule
  finds such orders (tests/unit/test_groups.py checks both).
- So, with up to 4 advancing per group, only a single group has same-group round-1 meetings:
  the playoff is then that group's own ranking, seeded in order, and they cannot be avoided.
"""
from itertools import chain

from . import round_robin, single_elimination

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def group_label(index):
    """Spreadsheet-style label of the group at 0-based `index`: 0 A, 25 Z, 26 AA, 27 AB, 702 AAA."""
    if index < 0:
        raise ValueError("a group index cannot be negative")
    label = ""
    number = index + 1
    while number:
        # Bijective base 26: digits run 1..26 (A..Z), there is no zero digit.
        number, digit = divmod(number - 1, 26)
        label = ALPHABET[digit] + label
    return label


def snake_groups(team_ids_by_seed, group_count):
    """The teams (best seed first) dealt into `group_count` groups by snake seeding.

    Returns one list per group, in group order, each listing its teams best seed first.
    """
    teams = list(team_ids_by_seed)
    _check_distinct(teams)
    if group_count < 1:
        raise ValueError("there must be at least one group")
    if len(teams) < 2 * group_count:
        raise ValueError(f"{len(teams)} teams cannot fill {group_count} groups of at least two")
    groups = [[] for _ in range(group_count)]
    for index, team in enumerate(teams):
        row, column = divmod(index, group_count)
        # Even rows deal left to right, odd rows right to left.
        groups[column if row % 2 == 0 else group_count - 1 - column].append(team)
    return groups


def group_matches(groups, double=False):
    """Every group's round robin as one flat list, each match labelled with its group.

    Ordered by round, then group, then board. Byes of odd-sized groups stay as round robin makes
    them (team2 None, status "bye", winner None).
    """
    _check_distinct(list(chain.from_iterable(groups)))
    return [match for round_no in range(1, group_rounds(groups, double) + 1)
            for match in group_round(groups, round_no, double)]


def group_rounds(groups, double=False):
    """How many rounds the group stage has: its largest group's round robin."""
    return max((round_robin.round_count(len(teams), double) for teams in groups), default=0)


def group_round(groups, round_no, double=False):
    """Round `round_no` of every group that has one, groups in order, boards in order: what
    `group_matches` lists for that round, made on its own when the round begins."""
    # Groups whose sizes differ have different round counts; a short group simply stops early.
    return [_labelled(match, group_label(index))
            for index, teams in enumerate(groups) if round_no <= round_robin.round_count(len(teams), double)
            for match in round_robin.schedule_round(teams, round_no, double)]


def _labelled(match, label):
    return dict(match, id=f"{label}_r{match['round']}_m{match['position']}", group=label)


def playoff_seeding(group_rankings, advance_per_group):
    """The playoff field, best seed first, from each group's final standings (team ids best first).

    Winners take the top seeds in group order, then the runners-up, then the thirds, ...; each
    tier after the first is ordered to keep teams of the same group apart (module docstring).
    """
    groups = [list(ranking) for ranking in group_rankings]
    _check_field(groups, advance_per_group)
    group_count = len(groups)
    field_size = group_count * advance_per_group
    position = _positions(field_size)
    # seeds[g]: the seeds given so far to group g, by place in the group; winners in group order.
    seeds = [[g + 1] for g in range(group_count)]
    for tier in range(1, advance_per_group):
        first_seed = tier * group_count + 1
        costs = _tier_costs(seeds, first_seed, position, field_size)
        for g, slot in enumerate(_min_cost_assignment(costs)):
            seeds[g].append(first_seed + slot)
    field = [None] * field_size
    for g, group_seeds in enumerate(seeds):
        for place, seed in enumerate(group_seeds):
            field[seed - 1] = groups[g][place]
    return field


def _check_field(groups, advance_per_group):
    if advance_per_group < 1:
        raise ValueError("at least one team per group must advance")
    if any(len(group) < advance_per_group for group in groups):
        raise ValueError(f"every group needs at least {advance_per_group} teams to advance that many")
    if len(groups) * advance_per_group < 2:
        raise ValueError("a playoff needs at least two teams")
    _check_distinct([team for group in groups for team in group[:advance_per_group]])


def _tier_costs(seeds, first_seed, position, field_size):
    """costs[g][slot]: the price of giving seed `first_seed + slot` to group g's next team.

    The price is the sum over the group's already seeded teams of a weight for the round in which
    the two could first meet, plus a tie-break term for the group order.
    """
    group_count = len(seeds)
    rounds = single_elimination.total_rounds(field_size)
    # Tie-break: the tier read as a base-g number (digit = group index, best seed first) is
    # smallest when the earliest groups hold the best seeds; below `tie_span` whatever the order.
    tie_span = group_count ** group_count
    # More same-round meetings than a tier has (group_count x earlier tiers < field_size + 1)
    # can never add up to one meeting a round earlier, hence base field_size + 1.
    base = field_size + 1
    weight = {r: tie_span * base ** (rounds - r) for r in range(1, rounds + 1)}
    costs = []
    for g, group_seeds in enumerate(seeds):
        row = []
        for slot in range(group_count):
            here = position[first_seed + slot]
            meetings = sum(weight[_meeting_round(here, position[s])] for s in group_seeds)
            row.append(meetings + g * group_count ** (group_count - 1 - slot))
        costs.append(row)
    return costs


def _min_cost_assignment(costs):
    """For each row of the square matrix `costs`, its column in a minimum-total assignment.

    The Hungarian method with potentials (Kuhn-Munkres, O(n^3)); exact on integers of any size.
    """
    n = len(costs)
    infinity = float("inf")
    # 1-based rows and columns; column 0 and row 0 are the algorithm's virtual start.
    row_potential, column_potential = [0] * (n + 1), [0] * (n + 1)
    row_of = [0] * (n + 1)  # row_of[column]: the row matched to it, 0 for none
    for row in range(1, n + 1):
        row_of[0] = row
        column = 0
        slack = [infinity] * (n + 1)
        previous = [0] * (n + 1)
        used = [False] * (n + 1)
        while row_of[column]:
            # Grow the alternating tree from `row` by the column of least reduced cost.
            used[column] = True
            current_row, delta, nearest = row_of[column], infinity, 0
            for j in range(1, n + 1):
                if used[j]:
                    continue
                reduced = costs[current_row - 1][j - 1] - row_potential[current_row] - column_potential[j]
                if reduced < slack[j]:
                    slack[j], previous[j] = reduced, column
                if slack[j] < delta:
                    delta, nearest = slack[j], j
            for j in range(n + 1):
                if used[j]:
                    row_potential[row_of[j]] += delta
                    column_potential[j] -= delta
                else:
                    slack[j] -= delta
            column = nearest
        # `column` is free: flip the augmenting path back to the start.
        while column:
            previous_column = previous[column]
            row_of[column] = row_of[previous_column]
            column = previous_column
    assignment = [0] * n
    for column in range(1, n + 1):
        assignment[row_of[column] - 1] = column - 1
    return assignment


def first_meeting_round(seeding, team_a, team_b):
    """The round in which `team_a` and `team_b` could first meet in the standard bracket of `seeding`.

    `seeding` lists the field best seed first, as `playoff_seeding` returns it (round 1 counts
    byes as matches, as in single elimination).
    """
    seed = {team: index for index, team in enumerate(seeding, start=1)}
    if team_a not in seed or team_b not in seed:
        raise ValueError("both teams must be in the seeding")
    if team_a == team_b:
        raise ValueError("a team does not meet itself")
    position = _positions(len(seeding))
    return _meeting_round(position[seed[team_a]], position[seed[team_b]])


def _positions(field_size):
    """Seed -> 0-based slot in the standard bracket for `field_size` teams."""
    order = single_elimination.seed_order(single_elimination.bracket_size(field_size))
    return {seed: slot for slot, seed in enumerate(order)}


def _meeting_round(slot_a, slot_b):
    # Slots sharing their top bits are in the same sub-bracket: the highest differing bit is the
    # level of the smallest sub-bracket holding both, i.e. the round of their first possible match.
    return (slot_a ^ slot_b).bit_length()


def _check_distinct(teams):
    if len(set(teams)) != len(teams):
        raise ValueError("team ids must be distinct")
