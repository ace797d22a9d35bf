"""Double elimination: a winners' bracket, a losers' bracket and a grand final, built up front.

A bracket is a plain dict `{format, grand_final, size, team_ids, matches}` where `matches` maps a
match id to a match dict:

    {id, bracket, round, position, team1_id, team2_id, status, winner, loser, scores,
     winner_to, loser_to, team1_from, team2_from}

- ids: `wb_r{r}_m{p}` (bracket "winners"), `lb_r{r}_m{p}` ("losers"), `gf_1`, `gf_2` ("grand_final").
- status: pending | completed | bye (one team present, it goes through) | void (nobody present).
- `winner_to` / `loser_to`: `{match_id, slot}` where that team goes next, or None.
- `team1_from` / `team2_from`: `{match_id, outcome}` ("winner" or "loser") feeding the slot, or None
  for the slots seeded directly into winners' round 1. They are the reverse of the routing above and
  let a slot be told apart as "still waiting" or "known to stay empty".

Structure for a bracket of `size = 2**k` slots:

- Winners' round r (1..k) has size / 2**r matches, seeded as in single elimination (`seed_order`),
  so the top seeds get the byes. `wb_r{r}_m{p}` feeds slot 1 (odd p) or 2 (even p) of
  `wb_r{r+1}_m{ceil(p/2)}`; the winners' final feeds `gf_1` slot 1.
- Losers' bracket: 2 * (k - 1) rounds; round j has size / 2**(ceil(j/2) + 1) matches.
  * Round 1 pairs the losers of winners' round 1: `wb_r1_m{2p-1}` -> `lb_r1_m{p}` slot 1 and
    `wb_r1_m{2p}` -> slot 2.
  * Even round 2i takes the survivors of round 2i-1 in slot 1 (same position) and the drop-downs
    from winners' round i+1 in slot 2.
  * Odd round j >= 3 pairs the survivors of round j-1 in bracket order (like winners' rounds).
  * The losers' final (round 2k-2) feeds `gf_1` slot 2. Losing in the losers' bracket eliminates.
- Drop-down order: the losers of winners' round r enter their losers' round in an order given by
  `drop_orders(size)[r - 1]`, one of five permutations of the winners' match order (natural,
  reverse, half_shift, reverse_half_shift, pair_flip, as named by brackets-manager.js), chosen per
  bracket size for the fewest losers'-bracket rematches (two teams meeting again) over random
  playthroughs (`bench/de_rematches.py`): at 32 teams 0.74 per event against brackets-manager.js's
  0.81, at 64 0.67 against 1.09, at 1,024 0.89 (the orders used before: 5.7).
- Grand final (`grand_final`):
  * "reset" (default): `gf_1` is winners' champion (slot 1) vs losers' champion (slot 2). If the
    winners' champion wins, the event is over and `gf_2` becomes void. If the losers' champion wins,
    both teams have one loss and `gf_2` is played (gf_1 winner in slot 1, loser in slot 2).
    The routing of `gf_1` to `gf_2` only applies in that second case.
  * "single": only `gf_1`; its winner is champion.
  * "none": no grand final. The winners' final winner is champion (known as soon as that match is
    played), the losers' final winner is second, the losers' final loser third.
- With 2 teams there is no losers' bracket: the loser of the only winners' match goes straight to
  `gf_1` slot 2 (or is second, with "none").

Byes: a match with one slot known to stay empty resolves as a bye at once (the present team goes on
as winner, nobody drops as loser); with both slots empty it is void. This cascades through both
brackets whenever a result is recorded.
"""
from tournament_service.engine import routing
from tournament_service.engine.matches import BYE, COMPLETED, DECIDED, VOID
from tournament_service.engine.single_elimination import bracket_size, seed_order

WINNERS = "winners"
LOSERS = "losers"
GRAND_FINAL = "grand_final"
GRAND_FINAL_MODES = ("reset", "single", "none")


def wb_id(round_no, position):
    return f"wb_r{round_no}_m{position}"


def lb_id(round_no, position):
    return f"lb_r{round_no}_m{position}"


def _wb_matches(size, round_no):
    return size >> round_no


def _lb_matches(size, round_no):
    return size >> ((round_no + 1) // 2 + 1)


ORDERINGS = {
    "natural": lambda items: list(items),
    "reverse": lambda items: items[::-1],
    "half_shift": lambda items: items[len(items) // 2:] + items[:len(items) // 2],
    "reverse_half_shift": lambda items: items[:len(items) // 2][::-1] + items[len(items) // 2:][::-1],
    "pair_flip": lambda items: [items[index ^ 1] for index in range(len(items))] if len(items) > 1 else list(items),
}
# Found by bench/de_rematches.py --search: per bracket size, the orders with the fewest
# losers'-bracket rematches over random playthroughs (4, 8 and 128 are brackets-manager.js's
# defaults; no order it tried did better there).
DROP_ORDERS = {
    2: ("natural",),
    4: ("natural", "reverse"),
    8: ("natural", "reverse", "natural"),
    16: ("natural", "reverse", "natural", "natural"),
    32: ("natural", "reverse_half_shift", "half_shift", "natural", "natural"),
    64: ("natural", "reverse", "half_shift", "reverse_half_shift", "reverse", "natural"),
    128: ("natural", "reverse", "half_shift", "pair_flip", "pair_flip", "pair_flip", "natural"),
    256: ("natural", "reverse", "half_shift", "reverse_half_shift", "pair_flip", "reverse", "natural", "natural"),
    512: ("natural", "reverse", "half_shift", "reverse_half_shift", "pair_flip", "reverse", "reverse_half_shift",
          "reverse", "natural"),
    1024: ("natural", "reverse", "half_shift", "reverse_half_shift", "pair_flip", "reverse", "reverse_half_shift",
           "half_shift", "natural", "natural"),
    2048: ("natural", "reverse", "half_shift", "reverse_half_shift", "pair_flip", "reverse", "half_shift",
           "reverse_half_shift", "reverse", "natural", "natural"),
    4096: ("natural", "reverse", "half_shift", "reverse_half_shift", "pair_flip", "half_shift",
           "reverse_half_shift", "reverse", "half_shift", "natural", "reverse", "natural"),
}


def drop_orders(size):
    """The ordering of each winners' round's losers as they drop, for a bracket of `size` slots."""
    if size in DROP_ORDERS:
        return DROP_ORDERS[size]
    # Past the table (more than the 4,096 teams an event may have): 4,096's orders with pair
    # flips added in the middle, as the table's larger sizes grow from the smaller ones.
    extra = size.bit_length() - 1 - len(DROP_ORDERS[4096])
    return DROP_ORDERS[4096][:5] + ("pair_flip",) * extra + DROP_ORDERS[4096][5:]


def _drop_positions(size, round_no, orders):
    """{winners' match position: losers'-bracket position} for the losers of winners' round `round_no`."""
    count = _wb_matches(size, round_no)
    order = ORDERINGS[orders[round_no - 1]](list(range(1, count + 1)))
    return {position: index for index, position in enumerate(order, start=1)}


def build(team_ids_by_seed, grand_final="reset", orders=None):
    """The whole event for teams listed best seed first; byes already resolved.

    `orders` replaces `drop_orders(size)` (one ordering name per winners' round), for measuring.
    """
    teams = list(team_ids_by_seed)
    if len(teams) < 2:
        raise ValueError("a bracket needs at least two teams")
    if len(set(teams)) != len(teams) or None in teams:
        raise ValueError("team ids must be distinct and not None")
    if grand_final not in GRAND_FINAL_MODES:
        raise ValueError(f"grand_final must be one of {GRAND_FINAL_MODES}")
    size = bracket_size(len(teams))
    wb_rounds = size.bit_length() - 1
    lb_rounds = 2 * (wb_rounds - 1)
    matches = {}

    for round_no in range(1, wb_rounds + 1):
        for position in range(1, _wb_matches(size, round_no) + 1):
            matches[wb_id(round_no, position)] = routing.new_match(wb_id(round_no, position), WINNERS,
                                                            round_no, position)
    for round_no in range(1, lb_rounds + 1):
        for position in range(1, _lb_matches(size, round_no) + 1):
            matches[lb_id(round_no, position)] = routing.new_match(lb_id(round_no, position), LOSERS,
                                                            round_no, position)
    if grand_final != "none":
        matches["gf_1"] = routing.new_match("gf_1", GRAND_FINAL, 1, 1)
    if grand_final == "reset":
        matches["gf_2"] = routing.new_match("gf_2", GRAND_FINAL, 2, 1)

    def link(source_id, outcome, target_id, slot):
        routing.link(matches, source_id, outcome, target_id, slot)

    # Winners' bracket: winners move up in bracket order, losers drop to the losers' bracket.
    for round_no in range(1, wb_rounds + 1):
        count = _wb_matches(size, round_no)
        drops = _drop_positions(size, round_no, orders or drop_orders(size)) if round_no > 1 else None
        for position in range(1, count + 1):
            source = wb_id(round_no, position)
            if round_no < wb_rounds:
                link(source, "winner", wb_id(round_no + 1, (position + 1) // 2), 2 - position % 2)
            elif grand_final != "none":
                link(source, "winner", "gf_1", 1)
            if round_no == 1 and lb_rounds:
                link(source, "loser", lb_id(1, (position + 1) // 2), 2 - position % 2)
            elif lb_rounds:
                link(source, "loser", lb_id(2 * (round_no - 1), drops[position]), 2)
            elif grand_final != "none":
                # Two teams: no losers' bracket, the first loss sends a team straight to the final.
                link(source, "loser", "gf_1", 2)

    # Losers' bracket: survivors only ever move on as winners; a loss here eliminates.
    for round_no in range(1, lb_rounds + 1):
        for position in range(1, _lb_matches(size, round_no) + 1):
            source = lb_id(round_no, position)
            if round_no == lb_rounds:
                if grand_final != "none":
                    link(source, "winner", "gf_1", 2)
            elif round_no % 2:
                link(source, "winner", lb_id(round_no + 1, position), 1)
            else:
                link(source, "winner", lb_id(round_no + 1, (position + 1) // 2), 2 - position % 2)

    if grand_final == "reset":
        link("gf_1", "winner", "gf_2", 1)
        link("gf_1", "loser", "gf_2", 2)

    order = seed_order(size)
    for position in range(1, _wb_matches(size, 1) + 1):
        match = matches[wb_id(1, position)]
        for slot, seed in ((1, order[2 * position - 2]), (2, order[2 * position - 1])):
            match[f"team{slot}_id"] = teams[seed - 1] if seed <= len(teams) else None

    bracket = {"format": "double_elimination", "grand_final": grand_final, "size": size,
               "team_ids": teams, "matches": matches}
    # Build owns every dict it made, so resolving byes may write in place.
    routing.resolve_built(matches, [wb_id(1, p) for p in range(1, _wb_matches(size, 1) + 1)])
    return bracket


def play_result(bracket, match_id, winner, scores=None, **fields):
    """{id: match} changed when `winner` takes `match_id` (see `routing.play_result`)."""
    matches = bracket["matches"]
    match = matches.get(match_id)
    # The winners' champion had no loss yet: beating the losers' champion in gf_1 ends the event.
    ends = match is not None and match_id == "gf_1" and "gf_2" in matches and winner == match["team1_id"]
    changes = routing.play_result(matches, match_id, winner, scores, routed=not ends,
                                  withdrawn=bracket.get("withdrawn", ()), **fields)
    if ends:
        changes["gf_2"] = dict(matches["gf_2"], status=VOID)
    return changes


def record(bracket, match_id, winner, scores=None, **fields):
    """A new bracket with `winner` taking `match_id`; the input bracket is left untouched."""
    return dict(bracket, matches={**bracket["matches"], **play_result(bracket, match_id, winner, scores, **fields)})


def pending_matches(bracket):
    """Matches ready to be played now (open with both teams known), in bracket order."""
    return routing.ready_matches(bracket)


def _final_ids(bracket):
    size = bracket["size"]
    wb_rounds = size.bit_length() - 1
    lb_final = lb_id(2 * (wb_rounds - 1), 1) if wb_rounds > 1 else None
    return wb_id(wb_rounds, 1), lb_final


def champion(bracket):
    """The event winner, or None while it is not decided."""
    matches = bracket["matches"]
    mode = bracket["grand_final"]
    if mode == "none":
        return matches[_final_ids(bracket)[0]]["winner"]
    gf_1 = matches["gf_1"]
    if gf_1["status"] not in (COMPLETED, BYE):  # a bye: nobody came out of the losers' bracket
        return None
    if mode == "single" or matches["gf_2"]["status"] == VOID:
        return gf_1["winner"]
    return matches["gf_2"]["winner"]


def _runner_up(bracket):
    matches = bracket["matches"]
    mode = bracket["grand_final"]
    if mode == "none":
        wb_final, lb_final = _final_ids(bracket)
        return matches[lb_final]["winner"] if lb_final else matches[wb_final]["loser"]
    if mode == "reset" and matches["gf_2"]["status"] == COMPLETED:
        return matches["gf_2"]["loser"]
    return matches["gf_1"]["loser"]


def placements(bracket):
    """Final ranking as (team_id, place), best first, ties listed by seed.

    1 champion, 2 runner-up, then teams by the losers' round they went out in (later is better);
    teams out in the same round share a place, the next place skips the tie (1, 2, 3, 4, 5, 5, 7, 7,
    9, ...). A void match (a double forfeit) puts both its teams out where it stood; one in the
    winners' bracket or the grand final ranks them below every losers'-bracket exit. Raises
    ValueError while a match is still to be played.
    """
    if any(match["status"] not in DECIDED for match in bracket["matches"].values()):
        raise ValueError("the event is not finished")
    first, second = champion(bracket), _runner_up(bracket)
    top = bracket["size"] * 4
    stage = {team_id: place for team_id, place in ((first, top + 1), (second, top)) if team_id is not None}
    for match in bracket["matches"].values():
        if match["bracket"] == LOSERS and match["status"] == COMPLETED:
            stage.setdefault(match["loser"], match["round"])
        elif match["status"] == VOID:
            for team_id in (match["team1_id"], match["team2_id"]):
                if team_id is not None:
                    stage.setdefault(team_id, match["round"] if match["bracket"] == LOSERS else 0)
    seed = {team_id: index for index, team_id in enumerate(bracket["team_ids"])}
    ranked = sorted(bracket["team_ids"], key=lambda team_id: (-stage[team_id], seed[team_id]))
    result = []
    for index, team_id in enumerate(ranked):
        tied = index and stage[ranked[index - 1]] == stage[team_id]
        result.append((team_id, result[-1][1] if tied else index + 1))
    return result
