"""Fixed-window rate limits kept in Redis, shared by every worker and orchestrator."""
import logging
import time

from shared.errors import APIError
from shared.pubsub import REDIS_DOWN

log = logging.getLogger(__name__)


def parse_limit(text):
    """'10/60' -> (10 attempts, 60 seconds)."""
    count, _, seconds = text.partition("/")
    return int(count), int(seconds or 60)


def enforce(redis_client, namespace, key, limit):
    """Count one attempt for `key`. :raise 429: with Retry-After once `limit` is used up."""
    count, window = limit
    bucket = int(time.time() // window)
    name = f"{namespace}ratelimit:{key}:{bucket}"
    try:
        pipe = redis_client.pipeline()
        pipe.incr(name)
        pipe.expire(name, window + 1)
        used = pipe.execute()[0]
    except REDIS_DOWN as exc:
        # Failing open: a Redis outage must not lock every user out.
        log.warning("rate limit not enforced, redis unreachable: %s", exc)
        return
    if used > count:
        retry_after = max(1, int((bucket + 1) * window - time.time()))
        raise APIError(429, "rate_limited", f"Too many attempts; try again in {retry_after} s.",
                       headers={"Retry-After": str(retry_after)})
