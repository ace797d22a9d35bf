"""Fixtures for the auth tests: orchestrator apps with their own settings, in-process tournament
servers, and a database connection to look at what is stored."""
import uuid

import pytest

from tests.support.registry import delete_registry_row, insert_registry_row
from tests.conftest import GATEWAY_SECRET, REDIS_URL, end_served_tournaments, orchestrator_test_config


@pytest.fixture
def fresh_namespace(platform_env):
    """A Redis namespace of this test's own, so rate-limit counters don't leak between tests."""
    return f"{platform_env['REDIS_NAMESPACE']}{uuid.uuid4().hex[:8]}:"


@pytest.fixture
def make_app(platform_env, tmp_path):
    """make_app(**overrides): an in-process orchestrator configured like tests/conftest.py's `app`,
    with `overrides` on top; each is disposed of the same way after the test."""
    from orchestrator import create_app
    from orchestrator.extensions import db

    made = []

    def make(**overrides):
        app = create_app(orchestrator_test_config(platform_env, **overrides))
        app.extensions["spawner"].env["INSTANCE_PATH"] = str(tmp_path)
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["redis_relay"].stop()
        app.extensions["publisher"].close()
        app.extensions["publisher"].client.close()
        app.extensions["spawner"].stop_all()
        with app.app_context():
            db.engine.dispose()
    if made:
        end_served_tournaments(platform_env["DATABASE_URL"])


@pytest.fixture
def make_tournament_server(database_url, redis_namespace, db_engine):
    """make_tournament_server(secret=GATEWAY_SECRET, **registry_row): an in-process tournament server
    for a fresh REGISTRATION tournament (max_teams 8); its registry row and log are removed after."""
    from tournament_service import create_app

    made_ids, made_apps = [], []

    def make(secret=GATEWAY_SECRET, **row):
        tournament_id = insert_registry_row(db_engine, **row)
        made_ids.append(tournament_id)
        app = create_app({
            "TOURNAMENT_ID": tournament_id, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
            "REDIS_NAMESPACE": redis_namespace, "MIGRATE_ON_START": False, "TESTING": True,
            "SSE_HEARTBEAT_SECONDS": 1.0, "GATEWAY_SECRET": secret,
        })
        made_apps.append(app)
        return app

    yield make
    for app in made_apps:
        server = app.extensions["tournament_server"]
        server.publisher.close()
        server.publisher.client.close()
        server.log.engine.dispose()
    # Leave no served tournament behind for an orchestrator started later in the run to pick up.
    for tournament_id in made_ids:
        delete_registry_row(db_engine, tournament_id)
