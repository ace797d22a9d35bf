"""The tournament server: one process per published tournament, the single writer of its state."""
import os

from flask import Flask

from shared import logs, validation
from shared.config import require_strong_secrets, settings_from_env
from shared.db.engine import make_engine, migrate
from shared.errors import register_error_handlers
from shared.events import Channels
from shared.http import add_security_headers
from shared.identity import IdentityVerifier
from shared.pubsub import REDIS_DOWN, Publisher, message_key
from shared.redis_client import embedded_redis_url
from tournament_service.health import HealthFirst


def create_app(config=None):
    """Build the server of the tournament named by TOURNAMENT_ID (env) or `config`."""
    app = Flask(__name__, instance_path=os.environ.get("INSTANCE_PATH") or None)
    app.config.from_mapping(settings_from_env(os.environ, app.instance_path))
    app.config.update(
        TOURNAMENT_ID=os.environ.get("TOURNAMENT_ID"),
        MIGRATE_ON_START=os.environ.get("MIGRATE_ON_START", "1") != "0",
        # Given by the orchestrator at each start; /api/health reports it so a supervisor can
        # tell this process from another one on the same port (adoption after a restart).
        SERVER_TOKEN=os.environ.get("SERVER_TOKEN", ""),
        # A subprocess server's own log, rotated (the spawner names it); unset: stderr (a container's).
        LOG_FILE=os.environ.get("LOG_FILE") or None,
        # A server runs one command at a time and reads a little beside it, and an idle one holds
        # no connection: hundreds of servers share one PostgreSQL's connection limit.
        DATABASE_POOL_SIZE=int(os.environ.get("DATABASE_POOL_SIZE", 2)),
        DATABASE_MAX_OVERFLOW=int(os.environ.get("DATABASE_MAX_OVERFLOW", 8)),
        DATABASE_IDLE_RELEASE=float(os.environ.get("DATABASE_IDLE_RELEASE", 30)),
    )
    app.config.update(config or {})
    logs.configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"], path=app.config["LOG_FILE"])
    if not app.config["TOURNAMENT_ID"]:
        raise RuntimeError("TOURNAMENT_ID is required")
    # It signs no cookies; the gateway's identity is all it trusts.
    require_strong_secrets(app.config, ("GATEWAY_SECRET",))
    if not app.config["REDIS_URL"]:
        app.config["REDIS_URL"] = embedded_redis_url(app.instance_path)

    from tournament_service.server import TournamentServer

    if app.config["MIGRATE_ON_START"]:
        migrate(app.config["DATABASE_URL"])
    engine = make_engine(app.config["DATABASE_URL"], pool_size=app.config["DATABASE_POOL_SIZE"],
                         max_overflow=app.config["DATABASE_MAX_OVERFLOW"],
                         idle_release=app.config["DATABASE_IDLE_RELEASE"],
                         application_name=f"tournament-server {app.config['TOURNAMENT_ID']}")
    # Signed: the orchestrators' relays pass its events on without reading them back (shared/pubsub.py).
    publisher = Publisher(app.config["REDIS_URL"], signing_key=message_key(app.config["GATEWAY_SECRET"]))
    server = TournamentServer(app.config["TOURNAMENT_ID"], engine, publisher, Channels(app.config["REDIS_NAMESPACE"]))
    server.schedule_reminder()
    app.extensions["tournament_server"] = server

    app.extensions["identity_verifier"] = IdentityVerifier(
        app.config["GATEWAY_SECRET"], app.config["TOURNAMENT_ID"],
        first_use=_nonce_store(publisher.client, server.channels, app.config["TOURNAMENT_ID"]))
    app.after_request(add_security_headers)
    # The supervisor asks for /api/health every second: its access lines are DEBUG, as scrapes'.
    app.wsgi_app = logs.RequestIds(app.wsgi_app, "tournament_service.access", quiet_paths=("/api/health", "/metrics"))
    # The page's forms post form bodies (tournament_service/forms.py reads their fields); all else is JSON.
    validation.install(app, form_blueprints=("tournament_forms",))
    register_error_handlers(app)
    from tournament_service import api, forms, metrics, page_snapshot, pages

    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(forms.bp)
    app.register_blueprint(page_snapshot.bp)
    app.register_blueprint(metrics.bp)
    app.wsgi_app = HealthFirst(app.wsgi_app, server, app.config["SERVER_TOKEN"])
    return app


def _nonce_store(client, channels, tournament_id):
    """Remember used identity nonces in Redis, so a restarted server refuses replays too."""
    def first_use(nonce, ttl):
        try:
            return bool(client.set(channels.server_key(tournament_id, f"nonce:{nonce}"), 1, nx=True, ex=int(ttl)))
        except REDIS_DOWN:
            return True  # Redis away: the in-memory check still refuses replays to this process
    return first_use
