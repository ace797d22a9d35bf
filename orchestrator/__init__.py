"""The orchestrator: tournament registry, spawner of tournament servers, gateway and SSE relay."""
import atexit
import os

from flask import Flask

from orchestrator.auth import (FORM_BLUEPRINTS, BearerAwareSessionInterface, protect_from_csrf,
                               refuse_cross_site_writes)
from orchestrator.extensions import csrf, db, login_manager
from orchestrator.login_cache import LoginCache
from orchestrator.routes import RouteCache
from orchestrator.spawners import make_spawner
from orchestrator.streams import StreamSlots
from shared import logs, validation
from shared.config import require_strong_secrets, settings_from_env
from shared.db.engine import engine_options, migrate, ping_when_idle
from shared.errors import register_error_handlers
from shared.events import Channels
from shared.http import add_security_headers
from shared.crowd import SharedReads
from shared.identity import FORM_TOKEN_FIELD
from shared.pubsub import Publisher, message_key
from shared.redis_client import connect, embedded_redis_url


def _settings(environ, instance_path):
    settings = settings_from_env(environ, instance_path)
    low, _, high = environ.get("TOURNAMENT_PORTS", "6001-6999").partition("-")
    settings.update(
        TOURNAMENT_HOST=environ.get("TOURNAMENT_HOST", "127.0.0.1"),
        TOURNAMENT_PORTS=(int(low), int(high or low)),
        SPAWN_TIMEOUT=float(environ.get("SPAWN_TIMEOUT", 20)),
        # Which backend starts tournament servers (orchestrator/spawners/), and the docker one's settings.
        SPAWNER=environ.get("SPAWNER", "subprocess"),
        # subprocess: fork servers from a preloaded parent (spawners/zygote.py); 0 = exec each one.
        SPAWNER_PRELOAD=environ.get("SPAWNER_PRELOAD", "1") != "0",
        ZYGOTE_IDLE_EXIT=float(environ.get("ZYGOTE_IDLE_EXIT", 60)),
        DOCKER_HOST=environ.get("DOCKER_HOST") or None,
        TOURNAMENT_IMAGE=environ.get("TOURNAMENT_IMAGE", "tournament-platform/tournament:dev"),
        DOCKER_NETWORK=environ.get("DOCKER_NETWORK", "host"),
        DOCKER_MEMORY=environ.get("DOCKER_MEMORY", "256m"),
        DOCKER_CPUS=float(environ.get("DOCKER_CPUS", 1.0)),
        DOCKER_PIDS=int(environ.get("DOCKER_PIDS", 256)),
        DEPLOYMENT=environ.get("DEPLOYMENT", "default"),
        SWARM_SPREAD=environ.get("SWARM_SPREAD", "node.id"),
        SWARM_RESTART_ATTEMPTS=int(environ.get("SWARM_RESTART_ATTEMPTS", 3)),
        KUBECONFIG=environ.get("KUBECONFIG") or None,  # else the in-cluster service account
        KUBERNETES_NAMESPACE=environ.get("KUBERNETES_NAMESPACE", "default"),
        KUBERNETES_RESTART_ATTEMPTS=int(environ.get("KUBERNETES_RESTART_ATTEMPTS", 3)),
        KUBERNETES_CPU_REQUEST=environ.get("KUBERNETES_CPU_REQUEST", "10m"),
        KUBERNETES_MEMORY_REQUEST=environ.get("KUBERNETES_MEMORY_REQUEST", "64Mi"),
        TOURNAMENT_DATABASE_URL=environ.get("TOURNAMENT_DATABASE_URL") or None,
        TOURNAMENT_REDIS_URL=environ.get("TOURNAMENT_REDIS_URL") or None,
        SSE_QUEUE_SIZE=int(environ.get("SSE_QUEUE_SIZE", 1000)),
        # The servers' live fragments kept in memory for their viewers (orchestrator/fragment_cache.py).
        FRAGMENT_CACHE_BYTES=int(environ.get("FRAGMENT_CACHE_BYTES", 32 * 2**20)),
        FRAGMENT_CACHE_MAX_AGE=float(environ.get("FRAGMENT_CACHE_MAX_AGE", 10)),
        # How long the gateway routes by a tournament's kept registry entry (orchestrator/routes.py); 0: never.
        ROUTE_CACHE_SECONDS=float(environ.get("ROUTE_CACHE_SECONDS", 2)),
        # How long the gateway may trust a login it has seen, while no login changed (orchestrator/login_cache.py); 0: never.
        LOGIN_CACHE_SECONDS=float(environ.get("LOGIN_CACHE_SECONDS", 10)),
        # While a tournament's feed is in demand, its reads wait this long for the viewers close behind (shared/crowd.py); 0: never.
        SSE_CROWD_LINGER_MS=float(environ.get("SSE_CROWD_LINGER_MS", 20)),
        # The hub writes each live frame to the feeds' sockets itself (shared/sse.py _write_directly).
        SSE_DIRECT_WRITES=environ.get("SSE_DIRECT_WRITES", "1") != "0",
        # Live streams one process holds (orchestrator/streams.py): per logged-in user, per
        # anonymous address (a LAN venue puts hundreds of viewers behind one), in all.
        SSE_STREAMS_PER_USER=int(environ.get("SSE_STREAMS_PER_USER", 30)),
        SSE_STREAMS_PER_ADDRESS=int(environ.get("SSE_STREAMS_PER_ADDRESS", 1000)),
        SSE_STREAMS_TOTAL=int(environ.get("SSE_STREAMS_TOTAL", 10000)),
        # The supervisor (see orchestrator/supervisor.py); times in seconds.
        START_SUPERVISOR=environ.get("START_SUPERVISOR", "1") != "0",
        SUPERVISE_INTERVAL=float(environ.get("SUPERVISE_INTERVAL", 1.0)),
        # How often a healthy server's /api/health is asked (staggered); every round in between
        # only checks that its process still runs. A failing or starting server is asked every round.
        HEALTH_CHECK_INTERVAL=float(environ.get("HEALTH_CHECK_INTERVAL", 5.0)),
        # At most this many of those checks a second across the fleet: past HEALTH_CHECK_INTERVAL x
        # this many healthy servers the interval stretches, so an idle fleet's supervision costs a
        # bounded share of a core, not one growing with the fleet (a hung server is then found
        # later; a dead process still within a round).
        HEALTH_CHECKS_PER_SECOND=float(environ.get("HEALTH_CHECKS_PER_SECOND", 20)),
        HEALTH_TIMEOUT=float(environ.get("HEALTH_TIMEOUT", 1.0)),
        HEALTH_FAILURES_BEFORE_RESTART=int(environ.get("HEALTH_FAILURES_BEFORE_RESTART", 3)),
        RESTART_BACKOFF_BASE=float(environ.get("RESTART_BACKOFF_BASE", 0.5)),
        RESTART_BACKOFF_CAP=float(environ.get("RESTART_BACKOFF_CAP", 30)),
        CRASH_LOOP_FAILURES=int(environ.get("CRASH_LOOP_FAILURES", 5)),
        CRASH_LOOP_WINDOW=float(environ.get("CRASH_LOOP_WINDOW", 600)),
        STABLE_SECONDS=float(environ.get("STABLE_SECONDS", 60)),
        LEASE_TTL=float(environ.get("LEASE_TTL", 10)),
        BUSY_GRACE=float(environ.get("BUSY_GRACE", 300)),
        ORPHAN_GRACE=float(environ.get("ORPHAN_GRACE", 10)),
        ORPHAN_SWEEP_EVERY=int(environ.get("ORPHAN_SWEEP_EVERY", 5)),
        # Rounds between two reads of the whole fleet while all of it is steady (1: every round).
        FLEET_READ_EVERY=max(1, int(environ.get("FLEET_READ_EVERY", 5))),

        TOKEN_TTL_SECONDS=int(environ.get("TOKEN_TTL_SECONDS", 30 * 24 * 3600)),
        # NIST SP 800-63B-4: 15 for a password that is the only factor; never below its floor of 8.
        PASSWORD_MIN_LENGTH=max(8, int(environ.get("PASSWORD_MIN_LENGTH", 15))),
        AUTH_RATE_LIMIT_PER_CLIENT=environ.get("AUTH_RATE_LIMIT_PER_CLIENT", "30/60"),
        # Failed logins only (see orchestrator/login_limits.py): per username and address, and
        # per username from anywhere (NIST SP 800-63B: at most 100).
        AUTH_FAILURES_PER_CLIENT_USERNAME=environ.get("AUTH_FAILURES_PER_CLIENT_USERNAME", "10/600"),
        AUTH_FAILURES_PER_USERNAME=environ.get("AUTH_FAILURES_PER_USERNAME", "100/3600"),
        # Chat messages one user may post in one tournament's chat per window (count/seconds).
        CHAT_RATE_LIMIT=environ.get("CHAT_RATE_LIMIT", "5/10"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=environ.get("SESSION_COOKIE_SECURE", "0") == "1",
        REMEMBER_COOKIE_HTTPONLY=True,
    )
    return settings


SIGNING_SECRETS = ("SECRET_KEY", "GATEWAY_SECRET")


def check_settings(environ=os.environ):
    """Raise what create_app would raise for these settings (WeakSecret, a RuntimeError), so the
    gunicorn master stops with one clear error instead of every worker failing to boot."""
    instance_path = Flask(__name__, instance_path=environ.get("INSTANCE_PATH") or None).instance_path
    require_strong_secrets(_settings(environ, instance_path), SIGNING_SECRETS)


def create_app(config=None):
    """Build the orchestrator; `config` overrides what the environment says (tests pass it)."""
    app = Flask(__name__, instance_path=os.environ.get("INSTANCE_PATH") or None)
    app.config.from_mapping(_settings(os.environ, app.instance_path))
    app.config.update(config or {})
    logs.configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    require_strong_secrets(app.config, SIGNING_SECRETS)
    if not app.config["REDIS_URL"]:
        app.config["REDIS_URL"] = embedded_redis_url(app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config["DATABASE_URL"])

    migrate(app.config["DATABASE_URL"])
    db.init_app(app)
    login_manager.init_app(app)
    # Flask-WTF checks the pages' form posts only (orchestrator/pages calls csrf.protect()); the
    # JSON API keeps its own header token (orchestrator/auth.py).
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_FIELD_NAME", FORM_TOKEN_FIELD)
    # A form token lives as long as the session that holds its secret (itself bound to a login
    # token that logout or expiry ends), not one hour: a results form left open at a venue all
    # afternoon must still post. OWASP's synchronizer-token pattern is per session.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    app.session_interface = BearerAwareSessionInterface()
    from orchestrator import metrics

    metrics.init_app(app)  # first: a request the hooks below refuse is counted too
    # Anonymous viewers of the public feeds are answered below Flask (a crowd connects at once),
    # with the same request ids and access lines as every other request.
    from orchestrator.anonymous_feeds import AnonymousFeeds

    # Probes and scrapes come every few seconds: their access lines are DEBUG.
    app.wsgi_app = logs.RequestIds(AnonymousFeeds(app, app.wsgi_app), "orchestrator.access",
                                   quiet_paths=("/healthz", "/readyz", "/metrics"))
    app.before_request(refuse_cross_site_writes)
    # The gateway streams bodies to the tournament servers unread; they check them themselves.
    validation.install(app, raw_body_endpoints=("gateway.forward",), form_blueprints=FORM_BLUEPRINTS)
    app.before_request(protect_from_csrf)
    app.after_request(add_security_headers)
    # Readiness must answer quickly when Redis is away, so its probe gives up after a second.
    app.extensions["readiness_redis"] = connect(app.config["REDIS_URL"], socket_timeout=1,
                                                socket_connect_timeout=1)
    channels = Channels(app.config["REDIS_NAMESPACE"])
    app.extensions["channels"] = channels
    with app.app_context():
        app.extensions["feed_engine"] = ping_when_idle(db.engine)
    app.extensions["spawner"] = make_spawner(app.config, app.instance_path)
    # What the orchestrator itself writes to a feed (chat messages) goes out after commit, held
    # while Redis is away, as the tournament servers' events do.
    app.extensions["publisher"] = Publisher(app.config["REDIS_URL"],
                                            signing_key=message_key(app.config["GATEWAY_SECRET"]))
    # A crowd of viewers connecting at once reads a tournament's visibility, a feed's head and a
    # replay once for all of them (shared/crowd.py).
    app.extensions["shared_reads"] = SharedReads(linger=app.config["SSE_CROWD_LINGER_MS"] / 1000)
    # Where the gateway sends each tournament's requests, without a registry read each time.
    app.extensions["routes"] = RouteCache(app.config["ROUTE_CACHE_SECONDS"])
    # Who a gateway request's login belongs to, without a database read each time.
    app.extensions["logins"] = LoginCache(app.extensions["readiness_redis"], app.config["REDIS_NAMESPACE"],
                                          app.config["LOGIN_CACHE_SECONDS"])
    # A dead client's slot frees when its next heartbeat fails to write: retry after one.
    app.extensions["stream_slots"] = StreamSlots(
        app.config["SSE_STREAMS_PER_USER"], app.config["SSE_STREAMS_PER_ADDRESS"],
        app.config["SSE_STREAMS_TOTAL"], retry_after=app.config["SSE_HEARTBEAT_SECONDS"])

    from orchestrator import gateway, pages

    register_error_handlers(app, on_server_error=db.session.rollback, html_page=pages.error_page)
    from orchestrator.api import (auth, chat, docs, events, health, leaderboard, metrics as metrics_api, servers,
                                  subscriptions, tournaments)

    app.register_blueprint(auth.bp)
    app.register_blueprint(servers.bp)
    app.register_blueprint(subscriptions.bp)
    app.register_blueprint(tournaments.bp)
    app.register_blueprint(chat.bp)
    app.register_blueprint(leaderboard.bp)
    app.register_blueprint(events.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics_api.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(gateway.bp)
    app.register_blueprint(pages.bp)

    from orchestrator.relay import init_relay

    if app.config.get("START_RELAY", True):
        init_relay(app, channels)
    if app.config["START_SUPERVISOR"]:
        from orchestrator.supervisor import Supervisor

        supervisor = Supervisor(app, app.extensions["spawner"]).start()
        app.extensions["supervisor"] = supervisor
        atexit.register(supervisor.shutdown)
    return app


def spawner_from_environ(environ):
    """The spawner the orchestrator this environment configures uses (for the gunicorn master,
    which has no app: shutdown.py stops the fleet with it)."""
    instance_path = environ.get("INSTANCE_PATH") or Flask(__name__).instance_path
    return make_spawner(_settings(environ, instance_path), instance_path)
