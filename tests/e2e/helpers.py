"""What end-to-end tests read from the database or the machine that the API does not show."""
import psutil
import sqlalchemy as sa

from orchestrator.spawners.subprocess import served_tournament
from shared.db.tables import tournament_servers
from tests.support.api import ok


def server_of(database_url, tournament_id):
    """(pid, host, port) of the tournament's server as the fleet records it; Nones when none."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.select(tournament_servers.c.pid, tournament_servers.c.host,
                                         tournament_servers.c.port)
                               .where(tournament_servers.c.tournament_id == tournament_id)).first()
    finally:
        engine.dispose()
    return (row.pid, row.host, row.port) if row else (None, None, None)


def server_processes(tournament_id):
    """Live `run.py tournament --id ID` processes on this machine, whoever started them."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        if (served_tournament(process.info["cmdline"] or ()) == tournament_id
                and process.info["status"] != psutil.STATUS_ZOMBIE):
            found.append(process.pid)
    return found


def fleet_entry(api, tournament_id):
    """The tournament's server as `GET /api/v1/servers` shows it to `api`'s user, or None."""
    return next((s for s in ok(api.get("/api/v1/servers"))["items"] if s["tournament_id"] == tournament_id), None)
