"""Measuring double-elimination brackets (where rematches can happen, how many do over random
playthroughs), for their tests, bench/drop_orders.py and bench/de_rematches.py."""


def _origins(bracket, match_id, slot, memo):
    """Winners' round-1 positions whose teams can arrive in `slot` of `match_id`."""
    key = (match_id, slot)
    if key not in memo:
        match = bracket["matches"][match_id]
        source = match[f"team{slot}_from"]
        if source is None:
            memo[key] = {match["position"]}
        else:
            memo[key] = _origins(bracket, source["match_id"], 1, memo) | _origins(bracket, source["match_id"], 2, memo)
    return memo[key]


def possible_rematches(bracket):
    """Per drop-down round of the losers' bracket, how many of its matches can pit the drop-down
    against a team it may already have played (both sides can come from one winners' subtree)."""
    memo, counts = {}, []
    rounds = bracket["size"].bit_length() - 1
    for drop_round in range(2, 2 * rounds - 1, 2):
        matches = [m for m in bracket["matches"].values() if m["bracket"] == "losers" and m["round"] == drop_round]
        counts.append(sum(1 for m in matches if _origins(bracket, m["id"], 1, memo) & _origins(bracket, m["id"], 2, memo)))
    return counts


# brackets-manager.js's default drop-down orders (`defaultMinorOrdering`, src/ordering.ts), one per
# winners' round; it has none past 128 slots.
BRACKETS_MANAGER = {
    4: ("natural", "reverse"),
    8: ("natural", "reverse", "natural"),
    16: ("natural", "reverse_half_shift", "reverse", "natural"),
    32: ("natural", "reverse", "half_shift", "natural", "natural"),
    64: ("natural", "reverse", "half_shift", "reverse", "natural", "natural"),
    128: ("natural", "reverse", "half_shift", "pair_flip", "pair_flip", "pair_flip", "natural"),
}


class Playthroughs:
    """Random playthroughs of a built double-elimination bracket, following its own routing.

    Every match with two teams is a coin flip; a team alone goes on (a bye). `rematches(rnd)` plays
    one event and returns the losers' rounds of the losers'-bracket matches whose two teams had
    already met. The flips are drawn one per match in a fixed match order, so two brackets of one
    size played with the same random stream see the same coin for the same match: their counts
    differ only by the routing (common random numbers).
    """

    def __init__(self, bracket):
        matches = bracket["matches"]
        wb_rounds = bracket["size"].bit_length() - 1
        order = [m for m in matches.values() if m["bracket"] == "winners" and m["round"] == 1]
        for round_no in range(2, wb_rounds + 1):
            for bracket_name, rounds in (("winners", (round_no,)), ("losers", (2 * round_no - 3, 2 * round_no - 2))):
                order += [m for m in matches.values() if m["bracket"] == bracket_name and m["round"] in rounds]
        index = {m["id"]: i for i, m in enumerate(order)}
        self.match_ids = [m["id"] for m in order]
        self.team_ids = list(bracket["team_ids"])
        number = {team: n for n, team in enumerate(self.team_ids)}

        def target(link):
            return (index[link["match_id"]], link["slot"] - 1) if link and link["match_id"] in index else None

        self.losers_round = [m["round"] if m["bracket"] == "losers" else 0 for m in order]
        self.winner_to = [target(m["winner_to"]) for m in order]
        self.loser_to = [target(m["loser_to"]) for m in order]
        # The seeded slots of winners' round 1 (before any bye was resolved).
        self.start = [[number.get(m["team1_id"]), number.get(m["team2_id"])] if m["round"] == 1 and m["bracket"] == "winners"
                      else [None, None] for m in order]
        self.count = len(self.team_ids)

    def rematches(self, rnd):
        slots = [list(pair) for pair in self.start]
        met = set()
        found = []
        count = self.count
        for i, (a, b) in enumerate(slots):
            flip = rnd.random() < 0.5
            if a is None or b is None:
                winner, loser = (b if a is None else a), None
            else:
                key = a * count + b if a < b else b * count + a
                if key in met:
                    if self.losers_round[i]:
                        found.append(self.losers_round[i])
                else:
                    met.add(key)
                winner, loser = (a, b) if flip else (b, a)
            for team, link in ((winner, self.winner_to[i]), (loser, self.loser_to[i])):
                if team is not None and link is not None:
                    slots[link[0]][link[1]] = team
        return found
