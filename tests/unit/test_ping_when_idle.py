"""Pooled PostgreSQL connections are checked only after they idled (shared/db/engine.ping_when_idle),
against the real PostgreSQL: a connection cut while it idled is replaced before anyone uses it, one
in steady use costs no check, and one cut right after a use fails one statement, then the pool
recovers."""
import pytest
import sqlalchemy as sa

from shared.db.engine import ping_when_idle


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def engine(database_url, monkeypatch):
    """A one-connection pool whose idle time the test sets (its own clock), with its checks counted."""
    clock = Clock()
    engine = ping_when_idle(sa.create_engine(database_url, pool_size=1, max_overflow=0), clock=clock)
    engine.clock, engine.pings = clock, []
    real_ping = engine.dialect.do_ping

    def counted(dbapi_connection):
        engine.pings.append(None)
        return real_ping(dbapi_connection)
    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    yield engine
    engine.dispose()


def backend_pid(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()


def cut(db_engine, pid):
    """Ends the server side of a pooled connection, as a PostgreSQL restart or a proxy would."""
    with db_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()


def test_a_connection_in_steady_use_is_not_checked(engine):
    first = backend_pid(engine)
    for _ in range(5):
        engine.clock.now += 0.5
        assert backend_pid(engine) == first
    assert engine.pings == []


def test_a_connection_cut_while_it_idled_is_replaced_before_use(engine, db_engine):
    first = backend_pid(engine)
    cut(db_engine, first)
    engine.clock.now += 5
    second = backend_pid(engine)  # no error: the check found it dead and the pool made a new one
    assert second != first
    assert len(engine.pings) == 1


def test_a_connection_cut_right_after_a_use_fails_one_statement_then_the_pool_recovers(engine, db_engine):
    first = backend_pid(engine)
    cut(db_engine, first)
    engine.clock.now += 0.1
    with pytest.raises(sa.exc.OperationalError) as failure:
        backend_pid(engine)
    assert failure.value.connection_invalidated
    assert backend_pid(engine) != first


def test_sqlite_engines_are_left_alone(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'local.db'}")
    assert ping_when_idle(engine) is engine
    assert len(engine.pool.dispatch.checkout) == 0
