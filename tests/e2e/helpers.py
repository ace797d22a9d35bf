"""What end-to-end tests read from the database that the API does not show (pid, port)."""
import sqlalchemy as sa

from shared.db.tables import tournament_servers


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
