"""Single elimination: standard seeding, byes for the top seeds, an optional third-place match.

The whole bracket is built at the start as routed matches (see `routing`): match `r{k}_match_{p}`
sends its winner to slot 1 (odd p) or 2 (even p) of `r{k+1}_match_{ceil(p/2)}`. Round 1 places
seeds in `seed_order`, so seeds 1 and 2 can meet only in the final and a field short of a power of
two gives its byes to the top seeds. With `third_place_match`, the semifinal losers meet in
`third_place` (bracket "third_place", same round as the final).
"""
from tournament_service.engine import routing
from tournament_service.engine.matches import COMPLETED

WINNERS = "winners"
THIRD_PLACE = "third_place"
THIRD_PLACE_ID = "third_place"


def bracket_size(team_count):
    """The smallest power of two holding `team_count` teams (at least 2)."""
    size = 2
    while size < team_count:
        size *= 2
    return size


def total_rounds(team_count):
    return bracket_size(team_count).bit_length() - 1


def seed_order(size):
    """Seeds in bracket order, so that 1 and 2 can meet only in the final: 8 -> 1,8,4,5,2,7,3,6."""
    order = [1]
    while len(order) < size:
        mirror = len(order) * 2 + 1
        order = [seed for top in order for seed in (top, mirror - top)]
    return order


def match_id(round_no, position):
    return f"r{round_no}_match_{position}"


def first_round(team_ids_by_seed):
    """Round 1's (team1, team2) pairs for teams listed best seed first; None marks a bye's empty side."""
    count = len(team_ids_by_seed)
    if count < 2:
        raise ValueError("a bracket needs at least two teams")
    order = seed_order(bracket_size(count))

    def team(seed):
        return team_ids_by_seed[seed - 1] if seed <= count else None
    return [(team(order[index]), team(order[index + 1])) for index in range(0, len(order), 2)]


def build(team_ids_by_seed, third_place_match=False):
    """The whole bracket for teams listed best seed first, byes already resolved."""
    teams = list(team_ids_by_seed)
    if len(set(teams)) != len(teams) or None in teams:
        raise ValueError("team ids must be distinct and not None")
    pairs = first_round(teams)
    size = bracket_size(len(teams))
    rounds = total_rounds(len(teams))
    matches = {}
    for round_no in range(1, rounds + 1):
        for position in range(1, (size >> round_no) + 1):
            ident = match_id(round_no, position)
            matches[ident] = routing.new_match(ident, WINNERS, round_no, position)
            if round_no > 1:
                for slot in (1, 2):
                    routing.link(matches, match_id(round_no - 1, 2 * position - 2 + slot), "winner", ident, slot)
    third = third_place_match and rounds >= 2
    if third:
        matches[THIRD_PLACE_ID] = routing.new_match(THIRD_PLACE_ID, THIRD_PLACE, rounds, 2)
        for slot in (1, 2):
            routing.link(matches, match_id(rounds - 1, slot), "loser", THIRD_PLACE_ID, slot)
    for position, (team1, team2) in enumerate(pairs, start=1):
        matches[match_id(1, position)].update(team1_id=team1, team2_id=team2)
    routing.resolve_built(matches, [match_id(1, p) for p in range(1, len(pairs) + 1)])
    return {"format": "single_elimination", "size": size, "rounds": rounds, "team_ids": teams,
            "third_place_match": bool(third), "matches": matches}


def round_name(round_no, rounds):
    remaining = rounds - round_no
    return {0: "Final", 1: "Semifinals", 2: "Quarterfinals"}.get(remaining, f"Round {round_no}")


def champion(bracket):
    return bracket["matches"][match_id(bracket["rounds"], 1)]["winner"]


def standings(bracket):
    """Rows ranked by the round each team reached (the champion above all), ties sharing a rank.

    A team's `round_reached` is the last round it played or is due to play; the champion ranks
    above the finalist. With a third-place match, its winner ranks above its loser. Ties are
    listed by seed.
    """
    teams = bracket["team_ids"]
    seed = {team_id: index for index, team_id in enumerate(teams, start=1)}
    reached = dict.fromkeys(teams, 1)
    wins, losses = dict.fromkeys(teams, 0), dict.fromkeys(teams, 0)
    for match in bracket["matches"].values():
        for team_id in (match["team1_id"], match["team2_id"]):
            if team_id is not None and match["bracket"] == WINNERS:
                reached[team_id] = max(reached[team_id], match["round"])
        if match["status"] == COMPLETED:
            wins[match["winner"]] += 1
            losses[match["loser"]] += 1
    # Finer than rounds: 2 per round, +1 to the champion and to the third-place winner.
    stage = {team_id: 2 * reached[team_id] for team_id in teams}
    winner = champion(bracket)
    if winner is not None:
        stage[winner] += 1
    third = bracket["matches"].get(THIRD_PLACE_ID)
    if third is not None and third["winner"] is not None:
        stage[third["winner"]] += 1
    ordered = sorted(teams, key=lambda t: (-stage[t], seed[t]))
    rows = []
    for team_id in ordered:
        rank = 1 + sum(1 for other in teams if stage[other] > stage[team_id])
        rows.append({"rank": rank, "team_id": team_id, "seed": seed[team_id], "wins": wins[team_id],
                     "losses": losses[team_id], "eliminated": losses[team_id] > 0 and team_id != winner,
                     "round_reached": reached[team_id]})
    return rows
