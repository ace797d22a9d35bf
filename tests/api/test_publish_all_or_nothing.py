"""Publishing is all or nothing: either the registry says REGISTRATION and a server serves a log
that matches the registry's configuration, or the tournament is a DRAFT with no log, no
announcement and no notification, and its next publish starts from the configuration as edited.
"""
import pytest
import sqlalchemy as sa

from shared.db.tables import announcements, notifications, tournament_events
from tests.api.helpers import assert_error, ok, send
from tests.support.processes import wait_until
from tests.support.registry import delete_registry_row, insert_registry_row

BASE = "/api/v1/tournaments"


def rows_of(db_engine, tournament_id):
    """{table: rows} a server wrote for the tournament."""
    with db_engine.connect() as conn:
        return {table.name: conn.execute(sa.select(table).where(table.c.tournament_id == tournament_id)).all()
                for table in (tournament_events, announcements, notifications)}


def without_updated_at(tournament):
    return {key: value for key, value in tournament.items() if key != "updated_at"}


class LostHealthAnswers:
    """While on, a publish's server opens its log but the orchestrator never hears its health
    answer (as with a server too slow to answer in time), so the start fails after the log's first
    events are committed."""

    def __init__(self, spawner, db_engine):
        self.spawner, self.db_engine = spawner, db_engine
        self.real = spawner.health, spawner.start_timeout

    def on(self, tournament_id):
        def health(*_args, **_kwargs):
            assert wait_until(lambda: rows_of(self.db_engine, tournament_id)["tournament_events"], timeout=30)
            return False
        self.spawner.health, self.spawner.start_timeout = health, 0.1

    def off(self):
        self.spawner.health, self.spawner.start_timeout = self.real


@pytest.fixture
def lost_health_answers(app, db_engine):
    faults = LostHealthAnswers(app.extensions["spawner"], db_engine)
    yield faults
    faults.off()


def test_a_failed_publish_leaves_a_clean_draft_and_the_next_one_takes_the_edits(bearer_client, db_engine,
                                                                                  lost_health_answers):
    client = bearer_client
    tournament = ok(send(client, "POST", BASE, {"name": "Flaky Cup", "game": "chess", "max_teams": 8}), 201)
    tid = tournament["id"]
    lost_health_answers.on(tid)
    assert_error(client.post(f"{BASE}/{tid}/publish"), 503, "server_start_failed")
    assert without_updated_at(ok(client.get(f"{BASE}/{tid}"))) == without_updated_at(tournament)
    assert rows_of(db_engine, tid) == {"tournament_events": [], "announcements": [], "notifications": []}

    lost_health_answers.off()
    ok(send(client, "PATCH", f"{BASE}/{tid}", {"name": "Steady Cup", "max_teams": 16}))
    published = ok(client.post(f"{BASE}/{tid}/publish"))
    try:
        assert published["state"] == "REGISTRATION"
        state = ok(client.get(f"/t/{tid}/api/state"))
        assert (state["name"], state["max_teams"], state["seq"]) == ("Steady Cup", 16, 2)
        assert [row.type for row in rows_of(db_engine, tid)["announcements"]] == ["tournament_announced"]
    finally:
        ok(client.post(f"{BASE}/{tid}/cancel"))


@pytest.mark.parametrize("state", ["DRAFT", "CANCELLED"])
def test_a_server_never_opens_the_log_of_an_unpublished_tournament(db_engine, database_url, redis_namespace,
                                                                     state):
    from tests.conftest import GATEWAY_SECRET, REDIS_URL
    from tournament_service import create_app
    from tournament_service.store import NotPublished

    tournament_id = insert_registry_row(db_engine, state=state)
    try:
        with pytest.raises(NotPublished):
            create_app({"TOURNAMENT_ID": tournament_id, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
                        "REDIS_NAMESPACE": redis_namespace, "MIGRATE_ON_START": False, "TESTING": True,
                        "GATEWAY_SECRET": GATEWAY_SECRET})
        assert rows_of(db_engine, tournament_id) == {"tournament_events": [], "announcements": [],
                                                     "notifications": []}
    finally:
        delete_registry_row(db_engine, tournament_id)
