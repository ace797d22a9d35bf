"""The gateway's kept logins (orchestrator/login_cache.py) on the real Redis: a login is read from
the database once per lifetime, and again at once after any login changed, after its own expiry,
and on every lookup while Redis does not answer."""
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from orchestrator.login_cache import LoginCache, MAX_ENTRIES, RETRY_SECONDS
from shared.redis_client import connect
from tests.support.processes import free_port
from tests.support.services import REDIS_URL


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Database:
    """Stands for the login's rows: counts reads; `live` says whether the login is live."""

    def __init__(self, expires_in=timedelta(hours=1)):
        self.reads, self.live, self.is_admin = 0, True, False
        self.expires_at = datetime.now(timezone.utc) + expires_in

    def load(self):
        self.reads += 1
        if not self.live:
            return None, None
        return SimpleNamespace(id=7, username="captain", is_admin=self.is_admin), SimpleNamespace(
            expires_at=self.expires_at)


@pytest.fixture
def redis_client():
    client = connect(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def cache(redis_client, redis_namespace, request):
    return LoginCache(redis_client, f"{redis_namespace}{request.node.name}:", 10, clock=Clock())


def test_a_login_is_read_once_per_lifetime(cache):
    database = Database()
    first = cache.user(("token", "h"), database.load)
    kept = cache.user(("token", "h"), database.load)
    assert database.reads == 1
    assert (kept.id, kept.username, kept.is_admin, kept.is_authenticated) == (7, "captain", False, True)
    assert kept.get_id() == "7" and first.id == kept.id
    cache.clock.now += 10.5
    cache.user(("token", "h"), database.load)
    assert database.reads == 2


def test_any_login_changed_anywhere_makes_every_kept_login_stale(cache, redis_client):
    database, other_worker = Database(), LoginCache(redis_client, cache.stamp_key.removesuffix("logins:stamp"), 10)
    cache.user(("token", "h"), database.load)
    database.live = False  # revoked by another worker or replica, which announces it
    other_worker.changed()
    assert cache.user(("token", "h"), database.load) is None
    assert database.reads == 2
    # Refused logins are not kept: the next lookup reads again.
    assert cache.user(("token", "h"), database.load) is None and database.reads == 3


def test_rights_given_are_seen_at_the_next_request(cache):
    database = Database()
    assert cache.user(("session", 7, 1), database.load).is_admin is False
    database.is_admin = True
    cache.changed()
    assert cache.user(("session", 7, 1), database.load).is_admin is True


def test_an_expired_login_is_not_served_from_memory(cache):
    database = Database(expires_in=timedelta(seconds=0.3))
    cache.user(("token", "h"), database.load)
    time.sleep(0.4)
    database.live = False
    assert cache.user(("token", "h"), database.load) is None


def test_a_login_kept_by_sqlite_without_its_zone_expires_too(cache):
    database = Database()
    database.expires_at = (datetime.now(timezone.utc) - timedelta(seconds=1)).replace(tzinfo=None)
    cache.user(("token", "h"), database.load)
    cache.user(("token", "h"), database.load)
    assert database.reads == 2


def test_logins_are_not_kept_while_redis_does_not_answer(redis_namespace):
    clock = Clock()
    away = LoginCache(connect(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1), redis_namespace, 10,
                      clock=clock)
    database = Database()
    for _ in range(3):
        assert away.user(("token", "h"), database.load).id == 7
    assert database.reads == 3
    started = time.monotonic()
    away.changed()  # announcing fails without an error
    clock.now += RETRY_SECONDS + 0.1
    assert away.user(("token", "h"), database.load).id == 7 and database.reads == 4
    assert time.monotonic() - started < 5


def test_zero_seconds_keeps_nothing(redis_client, redis_namespace):
    cache, database = LoginCache(redis_client, redis_namespace, 0), Database()
    cache.user(("token", "h"), database.load)
    cache.user(("token", "h"), database.load)
    assert database.reads == 2


def test_the_cache_holds_at_most_max_entries(cache):
    database = Database()
    for number in range(MAX_ENTRIES + 5):
        cache.user(("token", number), database.load)
    assert len(cache._entries) <= MAX_ENTRIES
