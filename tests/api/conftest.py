"""In-process fixtures: a tournament server for a freshly registered tournament, whose writes are
signed as the gateway signs them, and orchestrator test clients logged in as an organizer.
"""
import json
import uuid

import pytest
import sqlalchemy as sa

from shared.db.tables import tournament_events
from tests.api.helpers import (ORGANIZER, PASSWORD, SigningClient, assert_error, login, ok, register, send, use_bearer,
                               use_csrf)
from tests.conftest import GATEWAY_SECRET, REDIS_URL
from tests.support.registry import delete_registry_row, insert_registry_row


@pytest.fixture
def tournament_id(db_engine):
    tournament_id = insert_registry_row(db_engine, name="Input Cup", max_teams=4)
    yield tournament_id
    delete_registry_row(db_engine, tournament_id)


@pytest.fixture
def tournament_app(tournament_id, database_url, redis_namespace):
    from tournament_service import create_app

    app = create_app({
        "TOURNAMENT_ID": tournament_id, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
        "REDIS_NAMESPACE": redis_namespace, "MIGRATE_ON_START": False, "TESTING": True,
        "SSE_HEARTBEAT_SECONDS": 1.0, "GATEWAY_SECRET": GATEWAY_SECRET,
    })
    # Every write the tests send carries a fresh identity signed for the organizer (helpers.SigningClient).
    app.test_client_class = SigningClient
    yield app
    server = app.extensions["tournament_server"]
    server.publisher.close()
    server.publisher.client.close()
    server.log.engine.dispose()


@pytest.fixture
def make_server(db_engine, database_url, redis_namespace):
    """make_server(format=..., options={...}) -> a test client of a new REGISTRATION tournament."""
    from tournament_service import create_app

    made = []

    def make(options=None, **row):
        tournament_id = insert_registry_row(db_engine, organizer_id=ORGANIZER["id"],
                                            options=json.dumps(options or {}), **row)
        app = create_app({
            "TOURNAMENT_ID": tournament_id, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
            "REDIS_NAMESPACE": redis_namespace, "MIGRATE_ON_START": False, "TESTING": True,
            "SSE_HEARTBEAT_SECONDS": 1.0, "GATEWAY_SECRET": GATEWAY_SECRET,
        })
        app.test_client_class = SigningClient
        made.append((tournament_id, app))
        return app.test_client()
    yield make
    for tournament_id, app in made:
        server = app.extensions["tournament_server"]
        server.publisher.close()
        server.publisher.client.close()
        server.log.engine.dispose()
        delete_registry_row(db_engine, tournament_id)


@pytest.fixture
def tournament_client(tournament_app):
    return tournament_app.test_client()


@pytest.fixture
def stored_event_count(db_engine, tournament_id):
    """How many events the tournament's log holds in the database right now."""
    def count():
        with db_engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(tournament_events)
                                .where(tournament_events.c.tournament_id == tournament_id)).scalar()
    return count


@pytest.fixture
def snapshot(tournament_client, stored_event_count):
    """Everything a client can read about the tournament, plus the events stored for it."""
    def take():
        client = tournament_client
        state = ok(client.get("/api/state"))
        assert state["seq"] == stored_event_count(), "seq and the stored log disagree"
        return {
            "state": state,
            "teams": ok(client.get("/api/teams")),
            "matches": ok(client.get("/api/matches")),
            "all_matches": [m for status in ("pending", "reported", "disputed", "completed", "bye", "void")
                            for m in ok(client.get(f"/api/matches?status={status}"))["items"]],
            "bracket": ok(client.get("/api/bracket")),
            "standings": ok(client.get("/api/standings")),
            "stored": stored_event_count(),
        }
    return take


@pytest.fixture
def refused(tournament_client, snapshot):
    """refused(method, path, status, body=..., raw=..., code=..., fields=..., message=...): the error
    envelope, after checking that nothing changed."""
    def check(method, path, status, body=None, raw=None, headers=None, **expect):
        before = snapshot()
        response = send(tournament_client, method, path, body, raw=raw, headers=headers)
        error = assert_error(response, status, **expect)
        after = snapshot()
        assert after == before, f"{method} {path} {body if raw is None else raw!r} changed the tournament"
        return error
    return check


# ---- the orchestrator, as a logged-in organizer -------------------------------------------------

@pytest.fixture(scope="session")
def api_account():
    """One account for the run's input tests (scrypt makes each registration and login cost ~0.1 s).

    Registered by the first test that needs it; `token` caches the Bearer token its login returned
    (tokens live in the database, so they hold across the per-test apps).
    """
    return {"username": f"input-{uuid.uuid4().hex[:10]}", "password": PASSWORD, "registered": False,
            "token": None}


def _ensure_registered(app, account):
    if not account["registered"]:
        register(app.test_client(), account["username"], account["password"])
        account["registered"] = True


@pytest.fixture
def bearer_client(app, api_account):
    """The orchestrator's test client sending `Authorization: Bearer <token>` (no cookie, no CSRF)."""
    if api_account["token"] is None:
        _ensure_registered(app, api_account)
        # Logged in with a client of its own: the session cookie it gets stays out of bearer_client.
        api_account["token"] = login(app.test_client(), api_account["username"], api_account["password"])["token"]
    return use_bearer(app.test_client(), api_account["token"])


@pytest.fixture
def cookie_client(app, api_account):
    """The orchestrator's test client logged in with a session cookie, sending its X-CSRF-Token."""
    _ensure_registered(app, api_account)
    client = app.test_client()
    body = login(client, api_account["username"], api_account["password"])
    assert client.get_cookie("session") is not None, "login set no session cookie"
    return use_csrf(client, body["csrf_token"])
