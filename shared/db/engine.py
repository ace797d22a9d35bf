"""Creating engines and bringing a database's schema to the newest version."""
import contextlib
import fcntl
import threading
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# Any constant will do; all processes of the platform take the same advisory lock to migrate.
_MIGRATION_LOCK_KEY = 720_113_001
# A pooled connection back from a use this recent is handed out without a check of its own (see
# ping_when_idle); one idle longer is checked first.
PING_AFTER_IDLE_SECONDS = 1.0


def upsert_insert(dialect, table):
    """An INSERT of `table` that takes `on_conflict_do_update`, for `dialect` (PostgreSQL or SQLite,
    the two the platform runs on)."""
    return (postgresql.insert if dialect.name == "postgresql" else sqlite.insert)(table)


def engine_options(url):
    """Engine options that suit `url`'s database."""
    if url.startswith("sqlite"):
        # Many processes share one SQLite file locally: wait for the write lock instead of failing.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    # No pool_pre_ping: ping_when_idle checks only the connections that idled (see there).
    return {"pool_size": 5, "max_overflow": 10}


def make_engine(url, pool_size=None, max_overflow=None, idle_release=None, application_name=None):
    """An engine for `url`. For PostgreSQL: `pool_size`/`max_overflow` override the pool's, with
    `idle_release` seconds the connections it keeps are closed once it has not used one that long,
    and `application_name` names its connections in pg_stat_activity."""
    options = engine_options(url)
    if "pool_size" in options:
        options["pool_size"] = options["pool_size"] if pool_size is None else pool_size
        options["max_overflow"] = options["max_overflow"] if max_overflow is None else max_overflow
        if application_name:
            options["connect_args"] = {"application_name": application_name[:63]}
    engine = ping_when_idle(sa.create_engine(url, **options))
    if idle_release and "pool_size" in options:
        IdleRelease(engine, idle_release)
    return engine


def ping_when_idle(engine, seconds=PING_AFTER_IDLE_SECONDS, clock=time.monotonic):
    """Check a pooled PostgreSQL connection before handing it out only when it idled `seconds` or
    more since its last use; returns `engine`.

    pool_pre_ping checks every checkout: one more round trip for every read, a fifth of a viewer's
    connect and of a short command's database time. A connection back from a use a moment ago was
    alive then; one that idled may have been cut meanwhile (PostgreSQL restarted, a proxy's idle
    timeout), and that is what the check is for. A connection cut within `seconds` of its last use
    fails its next statement instead, as it would between a check and the statement anyway; the
    pool then replaces every connection it had made before (SQLAlchemy's disconnect handling), and
    that request gets the 503 of a database that went away.
    """
    if engine.dialect.name != "postgresql":
        return engine

    def checked_in(_dbapi_connection, record):
        record.info["idle_since"] = clock()

    def checked_out(dbapi_connection, record, _proxy):
        idle_since = record.info.get("idle_since")  # none: a connection made just now
        if idle_since is None or clock() - idle_since < seconds:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            if not engine.dialect.is_disconnect(exc, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            # The pool closes this connection and hands out a new one.
            raise sa.exc.DisconnectionError("the pooled connection was closed while it idled")

    sa.event.listen(engine, "checkin", checked_in)
    sa.event.listen(engine, "checkout", checked_out)
    return engine


class IdleRelease:
    """Closes an engine's pooled connections after `seconds` without a checkout or checkin.

    A tournament server keeps its connections between commands, but an idle one holding them
    would make a fleet of hundreds of servers need as many PostgreSQL connections (100 by
    default) while doing nothing. The watcher sleeps until the pool could be idle enough and ends
    once it has released it, so an idle server wakes for it once, not periodically."""

    def __init__(self, engine, seconds):
        self.engine, self.seconds = engine, seconds
        self.last_use = time.monotonic()
        self._watching = False
        self._lock = threading.Lock()
        # Pool events stay with the engine's pool across dispose() (the new pool keeps them).
        sa.event.listen(engine, "checkout", self._used)
        sa.event.listen(engine, "checkin", self._used)

    def _used(self, *_args):
        self.last_use = time.monotonic()
        with self._lock:
            if self._watching:
                return
            self._watching = True
        threading.Thread(target=self._watch, name="db-idle-release", daemon=True).start()

    def _watch(self):
        while True:
            time.sleep(max(0.0, self.last_use + self.seconds - time.monotonic()))
            with self._lock:
                if time.monotonic() - self.last_use < self.seconds:
                    continue
                if self.engine.pool.checkedout() == 0:
                    self.engine.dispose(close=True)  # closes what is checked in; a new pool opens lazily
                self._watching = False
                return


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
