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
