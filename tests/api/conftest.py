"""An in-process tournament server on the run's database, for a freshly registered tournament."""
import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from shared.db.tables import tournament_events, tournaments
from tests.conftest import REDIS_URL


def insert_registry_row(database_url, **overrides):
    """A REGISTRATION entry in the registry, as the orchestrator leaves it when it publishes."""
    now = datetime.now(timezone.utc)
    row = {
        "id": "t_" + uuid.uuid4().hex[:10], "name": "Input Cup", "game": "chess",
        "format": "single_elimination", "max_teams": 4, "min_teams": 2, "best_of": 1, "description": "",
        "starts_at": None, "state": "REGISTRATION", "organizer_id": None, "created_at": now,
        "updated_at": now, "endpoint": None, "server_pid": None, **overrides,
    }
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(tournaments).values(**row))
    finally:
        engine.dispose()
    return row["id"]


@pytest.fixture
def db_engine(database_url):
    engine = sa.create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def tournament_id(database_url, db_engine):
    tournament_id = insert_registry_row(database_url)
    yield tournament_id
    # Leave no served tournament behind for an orchestrator started later in the run to pick up.
    with db_engine.begin() as conn:
        conn.execute(sa.delete(tournament_events).where(tournament_events.c.tournament_id == tournament_id))
        conn.execute(sa.delete(tournaments).where(tournaments.c.id == tournament_id))


@pytest.fixture
def tournament_app(tournament_id, database_url, redis_namespace):
    from tournament_service import create_app

    app = create_app({
        "TOURNAMENT_ID": tournament_id, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
        "REDIS_NAMESPACE": redis_namespace, "MIGRATE_ON_START": False, "TESTING": True,
        "SSE_HEARTBEAT_SECONDS": 1.0,
    })
    yield app
    server = app.extensions["tournament_server"]
    server.publisher.close()
    server.publisher.client.close()
    server.log.engine.dispose()


@pytest.fixture
def tournament_client(tournament_app):
    return tournament_app.test_client()


@pytest.fixture
def stored_event_count(db_engine, tournament_id):
    """How many events the tournament's log holds in the database right now."""
    def count():
        with db_engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(tournament_events)
                                .where(tournament_events.c.tournament_id == tournament_id)).scalar()
    return count
