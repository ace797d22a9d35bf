"""Migrations that repair data: an upgraded database reads back everything it holds."""
import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from shared.db.engine import migrate
from shared.db.tables import tournament_events, tournaments
from tests.support.services import scratch_database


@pytest.fixture
def database_at_0005():
    """A database of its own, migrated up to 0005 (before start times were repaired)."""
    with scratch_database(f"test_migration_{uuid.uuid4().hex[:10]}", "0005") as url:
        yield url


def test_start_times_the_driver_cannot_read_are_cleared_and_the_rest_kept(database_at_0005):
    engine = sa.create_engine(database_at_0005)
    rows = {"t_poisoned": "9999-12-31T23:59:59-01:00", "t_ancient": "0001-01-01T00:00:00+01:00",
            "t_fine": "2027-03-01T18:00:00+00:00", "t_edge": "9999-12-31T12:00:00+00:00", "t_none": None}
    try:
        with engine.begin() as conn:
            for tournament_id, starts_at in rows.items():
                conn.execute(sa.text(
                    "INSERT INTO tournaments (id, name, game, format, max_teams, min_teams, best_of, description,"
                    " starts_at, state, created_at, updated_at) VALUES (:id, 'Cup', 'chess', 'swiss', 8, 2, 1, '',"
                    " CAST(:starts_at AS timestamptz), 'DRAFT', now(), now())"),
                    {"id": tournament_id, "starts_at": starts_at})
            # What GET /api/v1/tournaments did from then on: the driver cannot read the poisoned rows.
            with pytest.raises(ValueError):
                conn.execute(sa.select(tournaments.c.starts_at)).all()
        migrate(database_at_0005)
        with engine.connect() as conn:
            read = dict(conn.execute(sa.select(tournaments.c.id, tournaments.c.starts_at)).all())
    finally:
        engine.dispose()
    assert read["t_poisoned"] is None and read["t_ancient"] is None and read["t_none"] is None
    assert read["t_fine"] == datetime(2027, 3, 1, 18, tzinfo=timezone.utc)
    assert read["t_edge"] == datetime(9999, 12, 31, 12, tzinfo=timezone.utc)


def test_events_stored_before_request_ids_keep_their_payload_and_have_none():
    """0008 adds tournament_events.request_id: an old log reads back byte for byte, with no id."""
    payload = '{"seq":1,"tournament_id":"t_old","type":"tournament_published"}'
    with scratch_database(f"test_migration_{uuid.uuid4().hex[:10]}", "0007") as url:
        engine = sa.create_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(
                    "INSERT INTO tournaments (id, name, game, format, max_teams, min_teams, best_of, description,"
                    " state, created_at, updated_at) VALUES ('t_old', 'Cup', 'chess', 'swiss', 8, 2, 1, '',"
                    " 'ACTIVE', now(), now())"))
                conn.execute(sa.text("INSERT INTO tournament_events (tournament_id, seq, type, payload, created_at)"
                                     " VALUES ('t_old', 1, 'tournament_published', :payload, now())"),
                             {"payload": payload})
            migrate(url)
            with engine.connect() as conn:
                read = conn.execute(sa.select(tournament_events.c.payload, tournament_events.c.request_id)).one()
        finally:
            engine.dispose()
    assert tuple(read) == (payload, None)
