"""A clean stop of the orchestrator: its workers wind down at once, then its master either hands
the fleet over to the orchestrators still alive or, being the last one, stops it.

A worker told to stop (SIGTERM) ends its SSE streams and stops supervising at once
(`worker_stopping`), so it exits in about a second instead of being killed after its graceful
timeout. The master then runs `on_master_exit` (gunicorn's on_exit, after the workers are gone,
so a slow client can't cut it short). A master killed with -9 never gets there: its servers keep
serving and the next supervisor adopts them. FLEET_STOP_ON_EXIT=0 always leaves the fleet serving.
"""
import logging
import os
from pathlib import Path

import sqlalchemy as sa

from orchestrator import lease
from shared.config import database_url
from shared.db.engine import make_engine
from shared.db.tables import tournament_servers, tournaments

log = logging.getLogger(__name__)
LIVE = ("STARTING", "RUNNING", "UNHEALTHY")


def default_instance_path():
    """Flask's instance folder for the orchestrator package, unless INSTANCE_PATH says otherwise."""
    return os.environ.get("INSTANCE_PATH") or str(Path(__file__).resolve().parent.parent / "instance")


def worker_stopping(app):
    """A worker was told to stop: hand the lease on and end every SSE stream now (their clients
    reconnect elsewhere with Last-Event-ID), so the worker's open connections close by themselves."""
    supervisor = app.extensions.get("supervisor")
    if supervisor is not None:
        supervisor.shutdown()
    relay = app.extensions.get("redis_relay")
    if relay is not None:
        relay.stop()
    hub = app.extensions.get("feed_hub")
    if hub is not None:
        hub.end_all()
    publisher = app.extensions.get("publisher")
    if publisher is not None:
        publisher.close()  # what was committed goes out first (for up to 2 s while Redis is away)


def stop_fleet(conn, grace_seconds, spawner):
    """Stop every tournament server of this database that the spawner sees (recorded ones and
    orphans), and record as STOPPED only the rows that still record an instance we stopped."""
    running = spawner.running_servers()
    known = set(conn.execute(sa.select(tournaments.c.id).where(tournaments.c.id.in_(list(running)))).scalars()
                ) if running else set()
    recorded = conn.execute(sa.select(tournament_servers.c.tournament_id, tournament_servers.c.pid)
                            .where(tournament_servers.c.status.in_(LIVE), tournament_servers.c.pid.is_not(None))).all()
    conn.rollback()
    instances = {(tournament_id, pid) for tournament_id in known for pid in running[tournament_id]}
    instances.update((tournament_id, pid) for tournament_id, pid in recorded if spawner.is_running(pid, tournament_id))
    spawner.stop_many(sorted(instances), grace_seconds)
    for tournament_id, pid in recorded:
        stopped = conn.execute(sa.update(tournament_servers).where(
            tournament_servers.c.tournament_id == tournament_id, tournament_servers.c.pid == pid)
            .values(status="STOPPED", pid=None, token=None, health_failures=0)).rowcount
        if stopped:
            conn.execute(sa.update(tournaments).where(tournaments.c.id == tournament_id).values(endpoint=None))
    conn.commit()
    return len(instances)


def leave_or_stop_fleet(url, orchestrator, grace_seconds=5.0, spawner=None):
    """The exit of orchestrator `orchestrator` ('host:master pid'): when another orchestrator is
    alive, the fleet is left to it (its supervisor takes the lease this one's workers gave up and
    adopts the servers as they are); otherwise the fleet is stopped, by the holder of the fleet
    lease only, so no supervisor restarts servers meanwhile. Returns the servers stopped."""
    holder = f"{orchestrator}/exit"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            others = lease.others_alive(conn, orchestrator)
            if others:
                log.info("leaving the fleet serving: %d other supervisors are alive", len(others))
                return 0
            if not lease.take(conn, lease.FLEET, holder, grace_seconds + 10, also_from=orchestrator + "/"):
                log.info("leaving the fleet serving: another orchestrator holds the fleet lease")
                return 0
            try:
                if spawner is None:
                    from orchestrator import spawner_from_environ

                    spawner = spawner_from_environ(os.environ)
                stopped = stop_fleet(conn, grace_seconds, spawner)
                spawner.retire()
                return stopped
            finally:
                lease.release(conn, lease.FLEET, holder)
    finally:
        engine.dispose()


def on_master_exit():
    if os.environ.get("FLEET_STOP_ON_EXIT", "1") == "0":
        return
    try:
        leave_or_stop_fleet(database_url(os.environ, default_instance_path()), lease.orchestrator_name(os.getpid()))
    except sa.exc.SQLAlchemyError as exc:
        # Without the database nobody can tell who else serves the fleet: leave it serving; the
        # next supervisor adopts it.
        log.warning("left the fleet serving: the database is unreachable (%s)", exc)
