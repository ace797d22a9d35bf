"""Stopping the fleet when the orchestrator's gunicorn master shuts down cleanly.

It runs in the master (gunicorn's on_exit), after the workers are gone, so a slow keep-alive
client can't cut it short. A master killed with -9 never gets here: its servers keep serving and
the next supervisor adopts them. Set FLEET_STOP_ON_EXIT=0 where several orchestrators share a
fleet, so one of them stopping does not stop the others' servers.
"""
import os
from pathlib import Path

import sqlalchemy as sa

from orchestrator.spawner import is_tournament_server, stop_process
from shared.config import database_url
from shared.db.engine import make_engine
from shared.db.tables import tournament_servers, tournaments

LIVE = ("STARTING", "RUNNING", "UNHEALTHY")


def default_instance_path():
    """Flask's instance folder for the orchestrator package, unless INSTANCE_PATH says otherwise."""
    return os.environ.get("INSTANCE_PATH") or str(Path(__file__).resolve().parent.parent / "instance")


def stop_fleet(url, grace_seconds=5.0):
    """SIGTERM every live tournament server the database knows of, and record them STOPPED."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            live = conn.execute(sa.select(tournament_servers.c.tournament_id, tournament_servers.c.pid)
                                .where(tournament_servers.c.status.in_(LIVE))).all()
            for tournament_id, pid in live:
                if pid and is_tournament_server(pid, tournament_id):
                    stop_process(pid, grace_seconds)
            ids = [tournament_id for tournament_id, _pid in live]
            conn.execute(sa.update(tournament_servers).where(tournament_servers.c.tournament_id.in_(ids))
                         .values(status="STOPPED", pid=None, token=None))
            conn.execute(sa.update(tournaments).where(tournaments.c.id.in_(ids)).values(endpoint=None))
    finally:
        engine.dispose()


def on_master_exit():
    if os.environ.get("FLEET_STOP_ON_EXIT", "1") != "0":
        stop_fleet(database_url(os.environ, default_instance_path()))
