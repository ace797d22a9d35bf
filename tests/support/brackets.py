"""Measuring a double-elimination bracket's structure, for its tests and bench/drop_orders.py."""


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
