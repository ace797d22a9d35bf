"""What end-to-end tests read from the registry that the API does not show yet (pid, port)."""
import sqlalchemy as sa

from shared.db.tables import tournaments


def server_of(database_url, tournament_id):
    """(pid, host, port) of the tournament's server as the registry records it."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.select(tournaments.c.server_pid, tournaments.c.endpoint)
                               .where(tournaments.c.id == tournament_id)).one()
    finally:
        engine.dispose()
    if row.endpoint is None:
        return row.server_pid, None, None
    host, port = row.endpoint.rsplit(":", 1)
    return row.server_pid, host, int(port)
