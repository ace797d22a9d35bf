"""Who a gateway request's credentials belong to, kept in memory for a moment.

Every request through `/t/<id>/...` carries a Bearer token or a session cookie, and finding its
live login was a database round trip each time (~1 ms of the orchestrator's CPU, an eighth of a
result's whole gateway hop). The gateway needs only the user's id, name and admin flag, so those
are kept per login, for at most `LOGIN_CACHE_SECONDS`, and only while nothing about logins has
changed anywhere:

- revoking a token (logout, logout everywhere, the token list) and making an admin set a new random
  *stamp* in Redis after their commit (`LoginCache.changed`); every lookup reads the stamp (one GET,
  ~0.1 ms) and an entry kept under another stamp is read again from the database, so a revoked
  token stops working at once on every worker and replica;
- a random stamp, not a counter: a Redis that restarted empty reads as no stamp, which no entry
  holds, and a counter starting over could meet an old value again;
- while Redis does not answer, nothing is kept or used (every lookup reads the database), since a
  revocation made meanwhile could not be announced; after a failed read the stamp is not asked
  for again for `RETRY_SECONDS`, so an unreachable Redis costs no request its timeout;
- a login's own expiry is checked on every use; at most `MAX_ENTRIES` are kept.

What stays: a change made to the database by hand, or a stamp that could not be written after a
commit (Redis went away between the two), is seen within `LOGIN_CACHE_SECONDS`.
"""
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from flask_login import UserMixin

from shared.pubsub import REDIS_DOWN

log = logging.getLogger(__name__)

MAX_ENTRIES = 10_000
RETRY_SECONDS = 1.0
_NO_STAMP = ""  # no login has changed since Redis started: a value an entry can hold
_UNKNOWN = object()  # Redis did not answer


@dataclass(frozen=True, eq=False)
class KnownUser(UserMixin):
    """The part of a user the gateway reads (`auth.viewer`, `auth.identity_headers`)."""

    id: int
    username: str
    is_admin: bool


@dataclass(frozen=True)
class _Entry:
    user: KnownUser
    stamp: str
    kept_until: float  # monotonic
    expires_at: datetime  # the login's own expiry


class LoginCache:
    """Users of recently seen logins, for up to `max_age` seconds each (0: none kept)."""

    def __init__(self, redis_client, namespace, max_age, clock=time.monotonic):
        self.redis = redis_client
        self.stamp_key = f"{namespace}logins:stamp"
        self.max_age = max_age
        self.clock = clock
        self._entries = {}
        self._lock = threading.Lock()
        self._redis_away_until = float("-inf")

    def user(self, key, load):
        """The user of the login `key` names: kept, or `load()`ed as (User, ApiToken) and kept.

        :return: a KnownUser, the loaded User, or None for no live login.
        """
        if self.max_age <= 0:
            return load()[0]
        stamp = self._stamp()
        if stamp is _UNKNOWN:
            return load()[0]
        kept = self._entries.get(key)
        if (kept is not None and kept.stamp == stamp and self.clock() < kept.kept_until
                and datetime.now(timezone.utc) < kept.expires_at):
            return kept.user
        user, login = load()
        with self._lock:
            if user is None:
                self._entries.pop(key, None)
                return None
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = _Entry(KnownUser(user.id, user.username, user.is_admin), stamp,
                                        self.clock() + self.max_age, _aware(login.expires_at))
        return user

    def changed(self):
        """After a commit that ended a login or changed a user's rights: every kept login is stale."""
        try:
            self.redis.set(self.stamp_key, secrets.token_hex(8))
        except REDIS_DOWN as exc:
            log.warning("login change not announced (kept logins expire on their own), redis unreachable: %s", exc)

    def _stamp(self):
        if self.clock() < self._redis_away_until:
            return _UNKNOWN
        try:
            return self.redis.get(self.stamp_key) or _NO_STAMP
        except REDIS_DOWN as exc:
            log.warning("logins read from the database, redis unreachable: %s", exc)
            self._redis_away_until = self.clock() + RETRY_SECONDS
            return _UNKNOWN


def _aware(moment):
    # SQLite hands back the stored UTC time without its zone.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
