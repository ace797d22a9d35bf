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


def build_app():
    """The part of a tournament server that is the same for every tournament: the Flask app, its
    routes, hooks and error handlers, with no configuration, connection or tournament yet.

    The zygote (tournament_service/zygote.py) builds it once before it forks: a child then runs
    only `create_app(base=...)`'s per-tournament part. Every object a child's code touches gets its
    reference count written, so its page of the zygote's memory becomes the child's own copy;
    building the app in each child touched Flask's and Werkzeug's set-up code and objects (~0.7 MiB
    of private memory per server) to make an app identical in every one of them.
    """
    app = Flask(__name__)
    app.after_request(add_security_headers)
    # Scrapes (and any /api/health that reaches Flask) log their access lines at DEBUG.
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
    return app


def precompile(app):
    """Do once, in the zygote, what each server would otherwise do at its first request and first
    page: sort and compile the URL map, create the Jinja environment and compile every template
    (the compiler's code and the compiled templates are then shared, not redone in each child:
    ~2.3 MiB of a server's own memory once it renders a page). The zygote's code stamp covers the
    templates (shared/zygote_protocol.py), so an edited template retires it like edited code."""
    app.url_map.update()
    for name in app.jinja_env.list_templates():
        app.jinja_env.get_template(name)


def create_app(config=None, base=None):
    """Build the server of the tournament named by TOURNAMENT_ID (env) or `config`: on `base` (an
    app from `build_app()` no tournament was set up on yet) when given, else on a new one.

    Everything per tournament is made here, from this process's environment: the instance folder,
    the whole config (a new object: a base app carries none of its builder's), the log, the
    database engine, the Redis publisher and the tournament's state.
    """
    app = build_app() if base is None else base
    if "tournament_server" in app.extensions:
        raise RuntimeError("this app already serves a tournament")
    instance_path = os.environ.get("INSTANCE_PATH")
    if instance_path and not os.path.isabs(instance_path):
        raise ValueError("INSTANCE_PATH must be an absolute path")  # what Flask(instance_path=...) says
    app.instance_path = instance_path or app.auto_find_instance_path()
    app.config = app.make_config()
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
    if "jinja_env" in app.__dict__:
        # Made by `precompile` in the zygote, from its (default) config: Flask reads two things
        # from the config into it when it makes it, so give it ours.
        app.jinja_env.globals["config"] = app.config
        auto_reload = app.config["TEMPLATES_AUTO_RELOAD"]
        app.jinja_env.auto_reload = app.debug if auto_reload is None else auto_reload
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
    # Health answered in front of the whole app (tournament_service/health.py), for this tournament.
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
