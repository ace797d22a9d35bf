"""Creating engines and bringing a database's schema to the newest version."""
import contextlib
import fcntl
from pathlib import Path

import sqlalchemy as sa

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# Any constant will do; all processes of the platform take the same advisory lock to migrate.
_MIGRATION_LOCK_KEY = 720_113_001


def engine_options(url):
    """Engine options that suit `url`'s database."""
    if url.startswith("sqlite"):
        # Many processes share one SQLite file locally: wait for the write lock instead of failing.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10}


def make_engine(url):
    return sa.create_engine(url, **engine_options(url))


@contextlib.contextmanager
def _sqlite_file_lock(url):
    path = url.split("sqlite:///", 1)[1]
    with open(path + ".migrate-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def migrate(url, revision="head"):
    """Create or upgrade the schema at `url` to `revision` (the newest); safe to run concurrently."""
    # Imported here: a spawned tournament server doesn't migrate, and alembic costs ~0.14 s to import.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = make_engine(url)
    try:
        if url.startswith("sqlite"):
            with _sqlite_file_lock(url), engine.begin() as connection:
                # WAL lets readers (the relay) go on while a tournament server writes.
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        else:
            with engine.begin() as connection:
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
    finally:
        engine.dispose()
