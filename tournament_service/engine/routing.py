"""Brackets as routed matches: each match knows where its winner and its loser go next.

Single elimination, double elimination and a group stage's playoff are all built up front as a
dict of matches; playing one only fills slots further on. A bracket is a plain dict
`{format, size, team_ids, matches, ...}` where `matches` maps an id to a match dict:

    {id, bracket, round, position, team1_id, team2_id, status, winner, loser, scores,
     winner_to, loser_to, team1_from, team2_from}

- `withdrawn` (optional): disqualified teams, who get no byes.
- `winner_to` / `loser_to`: `{match_id, slot}` where that team goes next, or None.
- `team1_from` / `team2_from`: `{match_id, outcome}` ("winner" or "loser") feeding the slot, or None
  for a slot seeded directly. They are the reverse of the routing and tell a slot "still waiting"
  apart from "known to stay empty".
- status: pending (being waited for or ready), reported / disputed (a result is on its way, see
  the tournament's match lifecycle), completed, bye (one team present, it goes through), void
  (nobody present, or a double forfeit: nobody goes on).

Nothing is changed in place: `play_result`, `abandon_changes` and `change_result` return only the
matches they changed, as new dicts (a `Draft` reads through to the bracket), so one result costs
what it touches; `record` returns a whole new bracket, for callers that want one.
"""
from tournament_service.engine.matches import BYE, COMPLETED, DECIDED, OPEN, PENDING, VOID


def new_match(match_id, bracket, round_no, position):
    return {
        "id": match_id, "bracket": bracket, "round": round_no, "position": position,
        "team1_id": None, "team2_id": None, "status": PENDING, "winner": None, "loser": None,
        "scores": None, "winner_to": None, "loser_to": None, "team1_from": None, "team2_from": None,
    }


def link(matches, source_id, outcome, target_id, slot):
    """Send the `outcome` ("winner" or "loser") of `source_id` to `slot` of `target_id`."""
    matches[source_id][f"{outcome}_to"] = {"match_id": target_id, "slot": slot}
    matches[target_id][f"team{slot}_from"] = {"match_id": source_id, "outcome": outcome}


def playable(match):
    """Open with both teams known: a result can be recorded now."""
    return match["status"] in OPEN and match["team1_id"] is not None and match["team2_id"] is not None


class Draft:
    """Matches being changed by one operation: reads fall through to `base` until a match is
    first written, which copies it. `changes` holds the new dicts, so an operation costs what it
    touches, not the size of the bracket."""

    def __init__(self, base, changes=None):
        self.base = base
        self.changes = {} if changes is None else changes

    def __getitem__(self, match_id):
        changed = self.changes.get(match_id)
        return changed if changed is not None else self.base[match_id]

    def writable(self, match_id):
        if match_id not in self.changes:
            self.changes[match_id] = dict(self.base[match_id])
        return self.changes[match_id]


def play_result(matches, match_id, winner, scores=None, routed=True, withdrawn=(), **fields):
    """{id: match} changed when `winner` takes `match_id` of `matches` (extra `fields` stored on it).

    `routed=False` records the result without sending anyone on (a grand final that ends the
    event). :raise ValueError: for an unknown match, one not ready, or a winner not in it.
    """
    match = matches.get(match_id)
    if match is None:
        raise ValueError(f"unknown match {match_id!r}")
    if not playable(match):
        raise ValueError(f"match {match_id} is not ready to be played (status {match['status']})")
    if winner not in (match["team1_id"], match["team2_id"]):
        raise ValueError(f"{winner!r} is not playing in match {match_id}")
    draft = Draft(matches)
    match = draft.writable(match_id)
    loser = match["team2_id"] if winner == match["team1_id"] else match["team1_id"]
    match.update(fields, status=COMPLETED, winner=winner, loser=loser, scores=scores)
    resolve(draft, advance(draft, match) if routed else [], withdrawn)
    return draft.changes


def abandon_changes(matches, match_id, withdrawn=(), **fields):
    """{id: match} changed when `match_id` is void: nobody goes on, so where its teams were headed
    the opponent gets a bye."""
    match = matches.get(match_id)
    if match is None or not playable(match):
        raise ValueError(f"match {match_id!r} can't be abandoned")
    draft = Draft(matches)
    match = draft.writable(match_id)
    match.update(fields, status=VOID, winner=None, loser=None, scores=None)
    resolve(draft, advance(draft, match), withdrawn)
    return draft.changes


def change_result(matches, match_id, winner, scores=None, withdrawn=(), **fields):
    """{id: match} changed when completed `match_id` is won by `winner` instead, and every match
    downstream that held its old outcome (none of them played: the caller checks) is redone.

    Those downstream matches go back to pending with the slots this match fed emptied; sending the
    new outcome on then fills them again and settles byes as on the first pass.
    """
    match = matches[match_id]
    if match["status"] != COMPLETED or winner not in (match["team1_id"], match["team2_id"]):
        raise ValueError(f"match {match_id} can't be given to {winner!r}")
    draft = Draft(matches)
    redone = set(dependents(matches, match_id))
    for ident in redone:
        target = draft.writable(ident)
        target.update(status=PENDING, winner=None, loser=None)
        for slot in (1, 2):
            source = target[f"team{slot}_from"]
            if source is not None and (source["match_id"] == match_id or source["match_id"] in redone):
                target[f"team{slot}_id"] = None
    match = draft.writable(match_id)
    loser = match["team2_id"] if winner == match["team1_id"] else match["team1_id"]
    match.update(fields, winner=winner, loser=loser, scores=scores)
    resolve(draft, advance(draft, match), withdrawn)
    return draft.changes


def _merged(bracket, changes):
    return dict(bracket, matches={**bracket["matches"], **changes})


def record(bracket, match_id, winner, scores=None, routed=True, **fields):
    """A new bracket with `winner` taking `match_id`; the input bracket is left untouched."""
    return _merged(bracket, play_result(bracket["matches"], match_id, winner, scores, routed,
                                        bracket.get("withdrawn", ()), **fields))


def advance(draft, match):
    """Send a decided match's winner and loser on; the ids of the matches they went to."""
    touched = []
    for outcome in ("winner", "loser"):
        target = match[f"{outcome}_to"]
        if target is None:
            continue
        if match[outcome] is not None:
            draft.writable(target["match_id"])[f"team{target['slot']}_id"] = match[outcome]
        # Even with nobody sent, the target may now know that slot stays empty.
        touched.append(target["match_id"])
    return touched


def slot_state(draft, match, slot):
    """"team" (filled), "waiting" (its source is undecided) or "empty" (it will stay empty)."""
    if match[f"team{slot}_id"] is not None:
        return "team"
    source = match[f"team{slot}_from"]
    if source is None or draft[source["match_id"]]["status"] in DECIDED:
        return "empty"
    return "waiting"


def resolve(draft, match_ids, withdrawn=()):
    """Turn every pending match whose slots are settled but not both filled into a bye or void,
    cascading through whatever those feed. A `withdrawn` (disqualified) team gets no bye: alone in
    a match, it makes it void."""
    queue = list(match_ids)
    while queue:
        match = draft[queue.pop()]
        if match["status"] != PENDING:
            continue
        states = (slot_state(draft, match, 1), slot_state(draft, match, 2))
        if "waiting" in states or states == ("team", "team"):
            continue
        match = draft.writable(match["id"])
        present = match["team1_id"] if match["team1_id"] is not None else match["team2_id"]
        if present in withdrawn:
            present = None
        match.update(status=BYE if present is not None else VOID, winner=present, loser=None)
        queue.extend(advance(draft, match))


def resolve_built(matches, match_ids):
    """Settle the byes of a bracket just built (its dicts are the builder's own, changed in place)."""
    draft = Draft(matches, changes=matches)
    resolve(draft, match_ids)


def ready_matches(bracket):
    """Matches that can be played now, in bracket order."""
    return [match for match in bracket["matches"].values() if playable(match)]


def dependents(matches, match_id):
    """Matches downstream of `match_id` (in `matches`, a bracket's match map) that a changed
    result would reach, nearest first: the targets of its routes, and through byes and voids
    (which pass a team on untouched) theirs."""
    found, queue = [], [match_id]
    while queue:
        source = matches[queue.pop(0)]
        for outcome in ("winner", "loser"):
            target = source[f"{outcome}_to"]
            if target is None or target["match_id"] in found:
                continue
            found.append(target["match_id"])
            if matches[target["match_id"]]["status"] in (BYE, VOID):
                queue.append(target["match_id"])
    return found
