"""Settings both services read from the environment, in their app factories (never at import)."""
import os
import secrets


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


def settings_from_env(environ, instance_path):
    """The settings common to both services, from `environ`."""
    return {
        "DATABASE_URL": database_url(environ, instance_path),
        # None means: start an embedded redis-server (see shared.redis_client).
        "REDIS_URL": environ.get("REDIS_URL") or None,
        "REDIS_NAMESPACE": environ.get("REDIS_NAMESPACE", ""),
        "SECRET_KEY": environ.get("SECRET_KEY") or secrets.token_hex(32),
        "MAX_CONTENT_LENGTH": int(environ.get("MAX_CONTENT_LENGTH", 64 * 1024)),
        "SSE_HEARTBEAT_SECONDS": float(environ.get("SSE_HEARTBEAT_SECONDS", 15)),
    }
