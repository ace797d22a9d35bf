"""The fleet's records on the real database: a stop or a check of one process never overwrites the
record of another, and only the last orchestrator to leave stops the fleet."""
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from orchestrator import lease
from orchestrator.shutdown import leave_or_stop_fleet
from shared.db.tables import supervisor_lease, tournament_servers
from tests.support.processes import pid_alive, wait_until
from tests.support.registry import delete_registry_row, insert_registry_row


@pytest.fixture
def served(db_engine):
    """A registry entry whose server row records a live process that looks like its server."""
    tid = insert_registry_row(db_engine, state="CANCELLED")  # CANCELLED: no orchestrator serves it
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "run.py", "tournament",
                                 "--id", tid])
    with db_engine.begin() as conn:
        conn.execute(sa.insert(tournament_servers).values(
            tournament_id=tid, status="RUNNING", host="127.0.0.1", port=1, pid=stand_in.pid, token="t",
            started_at=datetime.now(timezone.utc)))
    yield tid, stand_in
    stand_in.kill()
    stand_in.wait()
    delete_registry_row(db_engine, tid)


def server_row(db_engine, tid):
    with db_engine.connect() as conn:
        return conn.execute(sa.select(tournament_servers).where(tournament_servers.c.tournament_id == tid)).one()


def test_failures_and_checks_of_another_process_leave_the_record_alone(app, served, db_engine):
    from orchestrator.services import fleet

    tid, stand_in = served
    with app.app_context():
        fleet.record_failure(tid, "the server process is gone", app.config, pid=stand_in.pid + 1)
        assert fleet.record_check(tid, False, app.config, pid=stand_in.pid + 1) == 0
    row = server_row(db_engine, tid)
    assert (row.status, row.pid, row.health_failures) == ("RUNNING", stand_in.pid, 0)

    with app.app_context():
        assert fleet.record_check(tid, False, app.config, pid=stand_in.pid, counts=False) == 0
        assert fleet.record_check(tid, False, app.config, pid=stand_in.pid) == 1
        fleet.record_failure(tid, "3 health checks failed", app.config, pid=stand_in.pid)
    row = server_row(db_engine, tid)
    assert (row.status, row.pid) == ("BACKOFF", None)


def test_an_orchestrator_leaving_while_another_lives_leaves_the_fleet_serving(served, database_url, db_engine):
    tid, stand_in = served
    with db_engine.begin() as conn:
        conn.execute(sa.delete(supervisor_lease).where(supervisor_lease.c.name.startswith(lease.PRESENCE)))
        conn.execute(sa.insert(supervisor_lease).values(
            name=lease.PRESENCE + "other", holder="elsewhere:1/other",
            expires_at=datetime.now(timezone.utc) + timedelta(seconds=30)))
    try:
        assert leave_or_stop_fleet(database_url, "here:1") == 0
        assert stand_in.poll() is None and server_row(db_engine, tid).pid == stand_in.pid
    finally:
        with db_engine.begin() as conn:
            conn.execute(sa.delete(supervisor_lease).where(supervisor_lease.c.name == lease.PRESENCE + "other"))

    # The last one to leave stops it, and records it stopped; a killed orchestrator of this machine
    # (its presence row not expired yet) doesn't count as alive.
    killed = subprocess.Popen(["true"])
    killed.wait()
    with db_engine.begin() as conn:
        conn.execute(sa.insert(supervisor_lease).values(
            name=lease.PRESENCE + "killed", holder=f"{lease.orchestrator_name(killed.pid)}/killed",
            expires_at=datetime.now(timezone.utc) + timedelta(seconds=30)))
    assert leave_or_stop_fleet(database_url, "here:1", grace_seconds=2) >= 1
    assert wait_until(lambda: stand_in.poll() is not None and not pid_alive(stand_in.pid), timeout=5)
    row = server_row(db_engine, tid)
    assert (row.status, row.pid) == ("STOPPED", None)
    with db_engine.begin() as conn:
        conn.execute(sa.delete(supervisor_lease).where(supervisor_lease.c.name == lease.PRESENCE + "killed"))


def test_the_last_orchestrator_does_not_stop_a_fleet_whose_lease_another_holds(served, database_url, db_engine):
    tid, stand_in = served
    with db_engine.begin() as conn:
        conn.execute(sa.delete(supervisor_lease).where(supervisor_lease.c.name.startswith(lease.PRESENCE)))
        conn.execute(sa.delete(supervisor_lease).where(supervisor_lease.c.name == lease.FLEET))
        conn.execute(sa.insert(supervisor_lease).values(
            name=lease.FLEET, holder="elsewhere:1/leader",
            expires_at=datetime.now(timezone.utc) + timedelta(seconds=30)))
    try:
        assert leave_or_stop_fleet(database_url, "here:1") == 0
        assert stand_in.poll() is None and server_row(db_engine, tid).pid == stand_in.pid
    finally:
        with db_engine.begin() as conn:
            conn.execute(sa.delete(supervisor_lease).where(supervisor_lease.c.name == lease.FLEET))


def test_passed_checks_move_the_check_time_of_the_process_checked_only(app, served, db_engine):
    from orchestrator.services import fleet

    tid, stand_in = served
    with db_engine.begin() as conn:
        conn.execute(sa.update(tournament_servers).where(tournament_servers.c.tournament_id == tid)
                     .values(last_check_ok=True, last_check_at=None))
    checked_at = datetime.now(timezone.utc)
    with app.app_context():
        fleet.record_checks_passed([(tid, stand_in.pid + 1), ("t_elsewhere", stand_in.pid)], now=checked_at)
        assert server_row(db_engine, tid).last_check_at is None  # another process's check: not this record
        fleet.record_checks_passed([(tid, stand_in.pid)], now=checked_at)
    assert server_row(db_engine, tid).last_check_at == checked_at

    with db_engine.begin() as conn:  # a failed check landed meanwhile: it wins
        conn.execute(sa.update(tournament_servers).where(tournament_servers.c.tournament_id == tid)
                     .values(last_check_ok=False))
    with app.app_context():
        fleet.record_checks_passed([(tid, stand_in.pid)], now=checked_at + timedelta(seconds=5))
    assert server_row(db_engine, tid).last_check_at == checked_at
