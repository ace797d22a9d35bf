"""Fixed-window counters kept in Redis, shared by every worker and orchestrator.

Each counter fails open: a Redis outage must not lock every user out.
"""
import logging
import time

from shared.errors import APIError
from shared.pubsub import REDIS_DOWN

log = logging.getLogger(__name__)


def parse_limit(text):
    """'10/60' -> (10 attempts, 60 seconds)."""
    count, _, seconds = text.partition("/")
    return int(count), int(seconds or 60)


def _bucket(namespace, key, window):
    bucket = int(time.time() // window)
    return f"{namespace}ratelimit:{key}:{bucket}", (bucket + 1) * window


def _refuse(window_ends):
    retry_after = max(1, int(window_ends - time.time()))
    raise APIError(429, "rate_limited", f"Too many attempts; try again in {retry_after} s.",
                   headers={"Retry-After": str(retry_after)})


def count(redis_client, namespace, key, limit):
    """Count one attempt for `key` in its window; how many the window holds now (0: Redis away)."""
    _count, window = limit
    name, _ends = _bucket(namespace, key, window)
    try:
        pipe = redis_client.pipeline()
        pipe.incr(name)
        pipe.expire(name, window + 1)
        return pipe.execute()[0]
    except REDIS_DOWN as exc:
        log.warning("rate limit not counted, redis unreachable: %s", exc)
        return 0


def enforce(redis_client, namespace, key, limit):
    """Count one attempt for `key`. :raise 429: with Retry-After once `limit` is used up."""
    if count(redis_client, namespace, key, limit) > limit[0]:
        _refuse(_bucket(namespace, key, limit[1])[1])


def check(redis_client, namespace, key, limit):
    """Count nothing. :raise 429: with Retry-After when `key` has used up `limit` in this window."""
    name, ends = _bucket(namespace, key, limit[1])
    try:
        used = int(redis_client.get(name) or 0)
    except REDIS_DOWN as exc:
        log.warning("rate limit not enforced, redis unreachable: %s", exc)
        return
    if used >= limit[0]:
        _refuse(ends)
