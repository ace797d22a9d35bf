"""Where the tests and benchmarks find PostgreSQL and Redis, and how a run leaves Redis as it found it.

`./scripts/test` sets TEST_DATABASE_URL (a maintenance database, next to which each run creates its
own) and TEST_REDIS_URL; the defaults are what a developer's machine usually has.
"""
import contextlib
import os
import re

import sqlalchemy as sa

from shared.db.engine import migrate
from shared.db.tables import tournaments, users

MAINTENANCE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

@contextlib.contextmanager
def scratch_database(name, revision="head"):
    """A PostgreSQL database `name` beside the maintenance one, migrated to `revision`; yields its URL
    and drops it afterwards."""
    admin = sa.create_engine(MAINTENANCE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(MAINTENANCE_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url, revision)
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# Usernames the tests make unique with a random hex suffix; fixed ones ("bench-organizer") are
# shared by every run and so say nothing about which run wrote a key.
_RANDOM_PART = re.compile(r"[0-9a-f]{8,}")


def keys_under(client, namespace):
    """Every key whose name starts with `namespace`."""
    return sorted(client.scan_iter(match=_glob_escape(namespace) + "*", count=1000))


def delete_namespace(client, namespace):
    """UNLINK every key under `namespace`; returns how many there were."""
    keys = keys_under(client, namespace)
    for start in range(0, len(keys), 500):
        client.unlink(*keys[start:start + 500])
    return len(keys)


def stray_keys(client, namespace, markers):
    """Keys outside `namespace` whose names carry one of `markers` (tournament ids, random usernames
    of this run): keys the run wrote without its namespace."""
    markers = [m for m in markers if m]
    return sorted(key for key in client.scan_iter(count=1000)
                  if not key.startswith(namespace) and any(marker in key for marker in markers))


def run_markers(database_url):
    """What only this run can have put in a key name: the tournament ids and the random usernames
    in the run's database."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            tournament_ids = conn.execute(sa.select(tournaments.c.id)).scalars().all()
            usernames = conn.execute(sa.select(users.c.username_key)).scalars().all()
    finally:
        engine.dispose()
    return [*tournament_ids, *(name for name in usernames if _RANDOM_PART.search(name))]


def _glob_escape(text):
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
