"""Registry rows written straight to the database, for tests of a tournament server on its own."""
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from shared.db.tables import tournament_events, tournaments


def insert_registry_row(engine, **overrides):
    """A REGISTRATION entry in the registry, as the orchestrator leaves it when it publishes."""
    now = datetime.now(timezone.utc)
    row = {
        "id": "t_" + uuid.uuid4().hex[:10], "name": "Test Cup", "game": "chess",
        "format": "single_elimination", "max_teams": 8, "min_teams": 2, "best_of": 1, "description": "",
        "starts_at": None, "state": "REGISTRATION", "organizer_id": None, "created_at": now,
        "updated_at": now, "endpoint": None, **overrides,
    }
    with engine.begin() as conn:
        conn.execute(sa.insert(tournaments).values(**row))
    return row["id"]


def delete_registry_row(engine, tournament_id):
    """The entry and its log, so no later orchestrator of the run serves it."""
    with engine.begin() as conn:
        conn.execute(sa.delete(tournament_events).where(tournament_events.c.tournament_id == tournament_id))
        conn.execute(sa.delete(tournaments).where(tournaments.c.id == tournament_id))
