"""Settings both services read from the environment, in their app factories (never at import)."""
import json
import os
import secrets

from shared import logs

# An HMAC key shorter than its hash's output is easier to guess than to break the hash: a
# one-character SECRET_KEY let a forged session cookie through as the site admin.
MIN_SECRET_BYTES = 32


class WeakSecret(RuntimeError):
    """A signing secret too short to be safe: the app refuses to start with it."""


def require_strong_secrets(config, names):
    """:raise WeakSecret: naming each of `names` in `config` that is shorter than 32 bytes."""
    weak = [f"{name} is {len(str(config.get(name) or '').encode())} bytes long" for name in names
            if len(str(config.get(name) or "").encode()) < MIN_SECRET_BYTES]
    if weak:
        raise WeakSecret(f"Refusing to start: {'; '.join(weak)}. Each must be at least {MIN_SECRET_BYTES} "
                         "bytes of random data, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`, "
                         "or unset to use the ones kept in instance/secrets.json.")


def database_url(environ, instance_path):
    """DATABASE_URL, or a SQLite file under the instance folder for a local run."""
    url = environ.get("DATABASE_URL")
    if not url:
        os.makedirs(instance_path, exist_ok=True)
        return "sqlite:///" + os.path.join(instance_path, "platform.db")
    # Heroku-style URLs say postgres://, which SQLAlchemy no longer accepts.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    return url


def instance_secrets(instance_path):
    """Secrets of a local run, made once and kept in the instance folder (mode 600).

    The orchestrator and the servers it spawns share the instance folder, so they agree on them.
    """
    path = os.path.join(instance_path, "secrets.json")
    os.makedirs(instance_path, exist_ok=True)
    try:
        with open(path) as kept:
            return json.load(kept)
    except FileNotFoundError:
        pass
    made = {"SECRET_KEY": secrets.token_hex(32), "GATEWAY_SECRET": secrets.token_hex(32)}
    # Written aside, then linked into place: a concurrent reader sees no file or a whole one.
    draft = f"{path}.{os.getpid()}"
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as new:
        json.dump(made, new)
    try:
        os.link(draft, path)
    except FileExistsError:  # another process was first: use theirs
        with open(path) as kept:
            made = json.load(kept)
    finally:
        os.unlink(draft)
    return made


def settings_from_env(environ, instance_path):
    """The settings common to both services, from `environ`."""
    kept = None
    if not environ.get("SECRET_KEY") or not environ.get("GATEWAY_SECRET"):
        kept = instance_secrets(instance_path)
    return {
        "DATABASE_URL": database_url(environ, instance_path),
        # None means: start an embedded redis-server (see shared.redis_client).
        "REDIS_URL": environ.get("REDIS_URL") or None,
        "REDIS_NAMESPACE": environ.get("REDIS_NAMESPACE", ""),
        # Signs session cookies; must be the same in every worker and across restarts.
        "SECRET_KEY": environ.get("SECRET_KEY") or kept["SECRET_KEY"],
        # Signs the identity the gateway forwards; shared only with the tournament servers.
        "GATEWAY_SECRET": environ.get("GATEWAY_SECRET") or kept["GATEWAY_SECRET"],
        "MAX_CONTENT_LENGTH": int(environ.get("MAX_CONTENT_LENGTH", 64 * 1024)),
        "SSE_HEARTBEAT_SECONDS": float(environ.get("SSE_HEARTBEAT_SECONDS", 15)),
        # Who may read /metrics (shared/metrics.py): anyone when empty, else `Bearer <token>`.
        "METRICS_TOKEN": environ.get("METRICS_TOKEN", ""),
        **logs.settings_from_env(environ),
    }
