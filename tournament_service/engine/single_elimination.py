"""Single elimination: standard seeding, byes for the top seeds, one round after another.

A match is a plain dict `{id, round, position, team1_id, team2_id, status, winner, scores}`.
Match `r{k}_match_{p}` feeds slot 1 (odd p) or 2 (even p) of `r{k+1}_match_{ceil(p/2)}`.
"""
PENDING = "pending"
COMPLETED = "completed"
BYE = "bye"
DECIDED = frozenset({COMPLETED, BYE})


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


def new_match(round_no, position, team1_id, team2_id):
    match = {
        "id": match_id(round_no, position), "round": round_no, "position": position,
        "team1_id": team1_id, "team2_id": team2_id,
        "status": PENDING, "winner": None, "scores": None,
    }
    if team2_id is None:
        # A bye: the top seed facing an empty slot goes through at once.
        match.update(status=BYE, winner=team1_id)
    return match


def first_round(team_ids_by_seed):
    """Round 1 for teams listed best seed first; padded to a power of two with byes."""
    count = len(team_ids_by_seed)
    if count < 2:
        raise ValueError("a bracket needs at least two teams")
    order = seed_order(bracket_size(count))
    matches = []
    for position, index in enumerate(range(0, len(order), 2), start=1):
        top, bottom = order[index], order[index + 1]
        bottom_team = team_ids_by_seed[bottom - 1] if bottom <= count else None
        matches.append(new_match(1, position, team_ids_by_seed[top - 1], bottom_team))
    return matches


def next_round(round_no, winners):
    """Round `round_no` pairing the previous round's winners in bracket order."""
    return [new_match(round_no, index // 2 + 1, winners[index], winners[index + 1])
            for index in range(0, len(winners), 2)]


def round_name(round_no, rounds):
    remaining = rounds - round_no
    return {0: "Final", 1: "Semifinals", 2: "Quarterfinals"}.get(remaining, f"Round {round_no}")


def bracket(team_count, rounds):
    """The whole bracket, played and unplayed, for drawing: every match with where its winner goes."""
    if team_count < 2:
        return {"format": "single_elimination", "rounds": []}
    count = total_rounds(team_count)
    picture = []
    for round_no in range(1, count + 1):
        played = rounds[round_no - 1] if round_no <= len(rounds) else None
        size = bracket_size(team_count) >> round_no
        matches = played or [
            {"id": match_id(round_no, p), "round": round_no, "position": p, "team1_id": None,
             "team2_id": None, "status": PENDING, "winner": None, "scores": None}
            for p in range(1, size + 1)
        ]
        picture.append({
            "round": round_no,
            "name": round_name(round_no, count),
            "matches": [dict(match, **_feeds(match, count)) for match in matches],
        })
    return {"format": "single_elimination", "rounds": picture}


def _feeds(match, rounds):
    if match["round"] == rounds:
        return {"next_match_id": None, "next_slot": None}
    position = match["position"]
    return {"next_match_id": match_id(match["round"] + 1, (position + 1) // 2),
            "next_slot": 1 if position % 2 else 2}


def standings(team_ids_by_seed, rounds, champion=None):
    """Rows ranked by the round each team reached (the champion above all), ties sharing a rank.

    A team's `reached` is the round it lost in, the round it is still playing, or rounds + 1 for the
    champion. Ties are listed by seed.
    """
    reached, wins, losses = {}, dict.fromkeys(team_ids_by_seed, 0), dict.fromkeys(team_ids_by_seed, 0)
    for team_id in team_ids_by_seed:
        reached[team_id] = 1 if rounds else 0
    for matches in rounds:
        for match in matches:
            for team_id in (match["team1_id"], match["team2_id"]):
                if team_id is not None:
                    reached[team_id] = max(reached[team_id], match["round"])
            if match["status"] == COMPLETED:
                loser = match["team2_id"] if match["winner"] == match["team1_id"] else match["team1_id"]
                wins[match["winner"]] += 1
                losses[loser] += 1
    if champion is not None:
        reached[champion] += 1
    seed = {team_id: index for index, team_id in enumerate(team_ids_by_seed, start=1)}
    ordered = sorted(team_ids_by_seed, key=lambda t: (-reached[t], seed[t]))
    rows = []
    for team_id in ordered:
        rank = 1 + sum(1 for other in team_ids_by_seed if reached[other] > reached[team_id])
        rows.append({"rank": rank, "team_id": team_id, "seed": seed[team_id], "wins": wins[team_id],
                     "losses": losses[team_id], "eliminated": losses[team_id] > 0,
                     "round_reached": min(reached[team_id], len(rounds) or 1)})
    return rows
