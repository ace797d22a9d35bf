"""A tournament server's PostgreSQL connections: named, few, and none while it is idle, so a fleet
of hundreds of servers fits one database's connection limit (shared/db/engine.py IdleRelease)."""
import sqlalchemy as sa

from tests.support.api import make_tournament, ok
from tests.support.processes import wait_until


def connections_of(database_url, tournament_id):
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                                {"name": f"tournament-server {tournament_id}"}).scalar()
    finally:
        engine.dispose()


def test_an_idle_server_lets_its_connections_go_and_takes_one_again_for_the_next_command(
        start_orchestrator, database_url):
    orchestrator = start_orchestrator(DATABASE_IDLE_RELEASE="3")
    api = orchestrator.api
    tid = make_tournament(api, state="REGISTRATION", teams=2, max_teams=4)["id"]
    # The health checks don't touch the database: once idle, the server holds no connection.
    assert wait_until(lambda: connections_of(database_url, tid) == 0, timeout=10)

    ok(api.post(f"/t/{tid}/api/teams", {"name": "Late Team"}), 201)
    assert connections_of(database_url, tid) >= 1  # kept for the next command, for a while
    teams = ok(api.get(f"/t/{tid}/api/teams"))["items"]
    assert [team["name"] for team in teams][-1] == "Late Team"
    assert wait_until(lambda: connections_of(database_url, tid) == 0, timeout=10)
    # ...and a burst of reads uses no more than the pool it is given (2 + 8 overflow).
    for _ in range(20):
        ok(api.get(f"/t/{tid}/api/state"))
    assert connections_of(database_url, tid) <= 10
