"""Fixtures on the real PostgreSQL and Redis: a database per test run, a Redis namespace per run.

TEST_DATABASE_URL points at a maintenance database (default: the local `test`); each run creates
its own database next to it and drops it at the end. Every key of the run is under its Redis
namespace, and deleted at the end (tests/support/services.py).
"""
import itertools
import uuid

import pytest
import redis
import sqlalchemy as sa

from shared.db.tables import tournaments
from shared.state_machine import SERVED_STATES
from tests.support.api import Api
from tests.support.processes import Proc, free_port, server_ports, wait_http
from tests.support.services import REDIS_URL, delete_namespace, keys_under, run_markers, scratch_database, stray_keys

# Both at least 32 bytes: the apps refuse shorter signing secrets.
GATEWAY_SECRET = "test-gateway-secret-0123456789abcdef"


@pytest.fixture(scope="session")
def run_id():
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def database_url(run_id):
    with scratch_database(f"test_platform_{run_id}") as url:
        yield url


@pytest.fixture(scope="session")
def db_engine(database_url):
    """A connection pool on the run's database, for looking at what was stored."""
    engine = sa.create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def redis_namespace(run_id, database_url):
    """The run's key prefix. At the end every key under it is deleted, and the run fails if a key
    was written without it or something still writes under it (nothing of the run may outlive it).

    It depends on `database_url` so that it ends while the run's database still tells which
    tournaments and users were the run's.
    """
    namespace = f"test-{run_id}:"
    yield namespace
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        strays = stray_keys(client, namespace, run_markers(database_url))
        delete_namespace(client, namespace)
        left = keys_under(client, namespace)
    finally:
        client.close()
    assert not strays, f"keys written without the run's namespace {namespace!r}: {strays[:20]}"
    assert not left, f"keys written under {namespace!r} after the run ended: {left[:20]}"


@pytest.fixture(scope="session")
def platform_env(database_url, redis_namespace, tmp_path_factory):
    """Environment for the platform's processes in this run."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "REDIS_NAMESPACE": redis_namespace,
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        "SSE_HEARTBEAT_SECONDS": "2",
        # Every orchestrator of a run shares one database and so one supervisor lease: after a
        # kill -9 the next one takes over within seconds.
        "LEASE_TTL": "3",
        "SECRET_KEY": "test-session-secret-0123456789abcdef",
        "GATEWAY_SECRET": GATEWAY_SECRET,
        # Tests register many users from one address; the limits have tests of their own.
        "AUTH_RATE_LIMIT_PER_CLIENT": "100000/60",
        "AUTH_FAILURES_PER_CLIENT_USERNAME": "100000/60",
        "AUTH_FAILURES_PER_USERNAME": "100000/60",
    }


def end_served_tournaments(database_url):
    """Test isolation: end what a test left served, so later orchestrators on the run's database
    don't bring those servers back."""
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.update(tournaments).where(tournaments.c.state.in_(SERVED_STATES))
                     .values(state="CANCELLED", endpoint=None))
    engine.dispose()


def orchestrator_test_config(platform_env, **overrides):
    """Config for an in-process orchestrator on the run's database and Redis namespace.

    No supervisor: it would compete for the run's lease with the orchestrator processes.
    """
    return {
        "DATABASE_URL": platform_env["DATABASE_URL"], "REDIS_URL": REDIS_URL,
        "REDIS_NAMESPACE": platform_env["REDIS_NAMESPACE"], "TESTING": True,
        "START_SUPERVISOR": False, "SSE_HEARTBEAT_SECONDS": 1.0,
        "SECRET_KEY": platform_env["SECRET_KEY"], "GATEWAY_SECRET": GATEWAY_SECRET,
        "AUTH_RATE_LIMIT_PER_CLIENT": "100000/60", "AUTH_FAILURES_PER_CLIENT_USERNAME": "100000/60",
        "AUTH_FAILURES_PER_USERNAME": "100000/60",
        **overrides,
    }


@pytest.fixture
def app(platform_env, tmp_path):
    """The orchestrator in this process, on the run's database and Redis namespace."""
    from orchestrator import create_app

    app = create_app(orchestrator_test_config(platform_env))
    app.extensions["spawner"].env["INSTANCE_PATH"] = str(tmp_path)
    yield app
    from orchestrator.extensions import db

    app.extensions["redis_relay"].stop()
    app.extensions["publisher"].close()
    app.extensions["publisher"].client.close()
    app.extensions["spawner"].stop_all()
    end_served_tournaments(platform_env["DATABASE_URL"])
    # Each app has its own engine; idle pooled connections would pile up over a run until
    # PostgreSQL refuses new clients.
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def _orchestrator_env(platform_env, ports, **extra):
    return {**platform_env, "TOURNAMENT_PORTS": f"{ports[0]}-{ports[1]}", **extra}


@pytest.fixture
def start_orchestrator(platform_env, tmp_path):
    """Start `run.py orchestrator` processes on free ports; all are stopped after the test."""
    started, numbers = [], itertools.count()

    def start(port_range=None, **env):
        number = next(numbers)  # not len(started): replicas may be started from several threads at once
        port = free_port()
        if port_range is None:
            port_range = server_ports(50, salt=number)
        proc = Proc(["orchestrator", "--port", str(port)], _orchestrator_env(platform_env, port_range, **env),
                    str(tmp_path / f"orchestrator-{number}.log"))
        started.append(proc)
        wait_http(f"http://127.0.0.1:{port}/healthz", process=proc.process)
        proc.url = f"http://127.0.0.1:{port}"
        proc.api = Api(proc.url).login(f"organizer-{uuid.uuid4().hex[:8]}")
        return proc

    yield start
    for proc in started:
        proc.stop()
    end_served_tournaments(platform_env["DATABASE_URL"])


@pytest.fixture
def orchestrator(start_orchestrator):
    return start_orchestrator()


@pytest.fixture
def api(orchestrator):
    return orchestrator.api
