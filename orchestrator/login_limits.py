"""How many login attempts a client and a username get, without locking the owner out.

Three fixed-window counters (ARCHITECTURE.md "Accounts" says why these three):
- every attempt from one client address (`AUTH_RATE_LIMIT_PER_CLIENT`), login and register alike;
- failed logins for one username from one address (`AUTH_FAILURES_PER_CLIENT_USERNAME`): that
  client is refused for that username until its window ends, right password or not;
- failed logins for one username from anywhere (`AUTH_FAILURES_PER_USERNAME`, NIST SP 800-63B's
  "at most 100"): past it the username is under attack, and only clients that logged in to it
  before (a signed `known_device` cookie) may still try; everyone else is refused.
Every refusal is decided before the password is checked, so a 429 never tells a right password
from a wrong one; only failures count against a username, so the owner's own logins cost nothing.
"""
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

from orchestrator import ratelimit

KNOWN_DEVICE_COOKIE = "known_device"
KNOWN_DEVICE_SECONDS = 180 * 24 * 3600
# A shared computer remembers the last few accounts that logged in on it, no more.
KNOWN_ACCOUNTS_KEPT = 5


@dataclass(frozen=True)
class LoginLimits:
    """The three limits, as (count, window seconds), and where their counters live."""

    redis: object
    namespace: str
    per_client: tuple
    failures_per_client_username: tuple
    failures_per_username: tuple

    @classmethod
    def from_config(cls, redis_client, config):
        return cls(redis_client, config["REDIS_NAMESPACE"],
                   ratelimit.parse_limit(config["AUTH_RATE_LIMIT_PER_CLIENT"]),
                   ratelimit.parse_limit(config["AUTH_FAILURES_PER_CLIENT_USERNAME"]),
                   ratelimit.parse_limit(config["AUTH_FAILURES_PER_USERNAME"]))

    def attempt(self, client):
        """Count an attempt (login or register) from `client`. :raise 429: past its limit."""
        ratelimit.enforce(self.redis, self.namespace, f"client:{client}", self.per_client)

    def before_login(self, client, username, known_device):
        """Count the attempt. :raise 429: when `client` may not try `username` now."""
        self.attempt(client)
        key = username.lower()
        ratelimit.check(self.redis, self.namespace, f"failures:{key}:{client}", self.failures_per_client_username)
        if not known_device:
            ratelimit.check(self.redis, self.namespace, f"failures:{key}", self.failures_per_username)

    def failed(self, client, username):
        """Count a wrong password (or unknown username) against the pair and the username."""
        key = username.lower()
        ratelimit.count(self.redis, self.namespace, f"failures:{key}:{client}", self.failures_per_client_username)
        ratelimit.count(self.redis, self.namespace, f"failures:{key}", self.failures_per_username)


def _serializer(secret):
    return URLSafeTimedSerializer(secret, salt="known-device")


def known_accounts(cookie, secret):
    """The username keys a `known_device` cookie vouches for ([] for none, forged or expired)."""
    if not cookie:
        return []
    try:
        accounts = _serializer(secret).loads(cookie, max_age=KNOWN_DEVICE_SECONDS)
    except BadSignature:
        return []
    return [a for a in accounts if isinstance(a, str)] if isinstance(accounts, list) else []


def remember_account(cookie, secret, username):
    """A new `known_device` cookie value: `username` first, then the others it already knew."""
    key = username.lower()
    kept = [key] + [a for a in known_accounts(cookie, secret) if a != key]
    return _serializer(secret).dumps(kept[:KNOWN_ACCOUNTS_KEPT])
