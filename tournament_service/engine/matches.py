"""What every format's matches share: their statuses.

A match is a plain dict with at least `{id, round, position, team1_id, team2_id, status, winner,
scores}`; formats add their own fields (`bracket`, `group`, routing).
"""
PENDING = "pending"  # to be played (in a bracket, maybe still waiting for a team)
REPORTED = "reported"  # one captain reported; waiting for the opponent to confirm
DISPUTED = "disputed"  # the captains' reports differ; the organizer decides
COMPLETED = "completed"
BYE = "bye"  # one team and no opponent
VOID = "void"  # nobody plays it: no team arrived, or both forfeited

STATUSES = (PENDING, REPORTED, DISPUTED, COMPLETED, BYE, VOID)
OPEN = frozenset({PENDING, REPORTED, DISPUTED})
DECIDED = frozenset({COMPLETED, BYE, VOID})


class Overlay:
    """A read-only view of `base` (match id -> match) with `changes` laid over it.

    Deciding a command works on such a view, so the tournament's own matches are never copied or
    touched: looking one up is O(1); walking all of them (`values`, `items`) keeps `base`'s order,
    new matches last.
    """

    def __init__(self, base, changes=None):
        self.base = base
        self.changes = dict(changes or {})

    def update(self, changes):
        self.changes.update(changes)

    def get(self, match_id, default=None):
        changed = self.changes.get(match_id)
        return changed if changed is not None else self.base.get(match_id, default)

    def __getitem__(self, match_id):
        changed = self.changes.get(match_id)
        return changed if changed is not None else self.base[match_id]

    def __contains__(self, match_id):
        return match_id in self.changes or match_id in self.base

    def __iter__(self):
        return (match_id for match_id, _match in self.items())

    def items(self):
        for match_id, match in self.base.items():
            yield match_id, self.changes.get(match_id, match)
        for match_id, match in self.changes.items():
            if match_id not in self.base:
                yield match_id, match

    def values(self):
        return (match for _match_id, match in self.items())
