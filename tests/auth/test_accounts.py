"""Accounts: register, login, me, logout, API tokens, and what is stored (hashes only).

Runs the orchestrator in this process (`client`, tests/conftest.py) on the run's real PostgreSQL and Redis.
"""
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from shared.db.tables import api_tokens, users
from tests.auth.helpers import PASSWORD, bearer, error_of, expect, login, register, send, unique
from tests.support.processes import ROOT

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"
TOKENS = "/api/v1/auth/tokens"


def user_row(db_engine, username):
    with db_engine.connect() as conn:
        return conn.execute(sa.select(users).where(users.c.username_key == username.lower())).first()


def count_users(db_engine, username):
    with db_engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(users)
                            .where(users.c.username_key == username.lower())).scalar()


def token_row(db_engine, token_id):
    with db_engine.connect() as conn:
        return conn.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id)).one()


# ---- register -----------------------------------------------------------------------------------

def test_register_creates_an_account_and_answers_201(client, db_engine):
    name = unique("Reg")
    user = register(client, name)
    assert user["username"] == name and user["is_admin"] is False
    assert isinstance(user["id"], int) and user["created_at"]
    assert not {"password", "password_hash"} & set(user)
    assert count_users(db_engine, name) == 1


@pytest.mark.parametrize("username", [
    pytest.param("ab", id="too-short"),
    pytest.param("a" * 31, id="too-long"),
    pytest.param("has space", id="space"),
    pytest.param("semi;colon", id="semicolon"),
    pytest.param("slash/name", id="slash"),
    pytest.param("<script>", id="markup"),
    pytest.param("n\u00e4me-\u00fc", id="non-ascii"),
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param(12345, id="int"),
    pytest.param(None, id="null"),
    pytest.param(["alice"], id="list"),
])
def test_register_refuses_a_bad_username_with_400(client, db_engine, username):
    error = error_of(send(client, "POST", REGISTER, {"username": username, "password": PASSWORD}), 400)
    assert "username" in (error.get("fields") or {}), error
    if isinstance(username, str) and username.strip():
        assert count_users(db_engine, username) == 0


@pytest.mark.parametrize("body, field", [
    pytest.param({"password": "1234567"}, "password", id="password-7-chars"),
    pytest.param({"password": ""}, "password", id="password-empty"),
    pytest.param({"password": 12345678}, "password", id="password-int"),
    pytest.param({"password": None}, "password", id="password-null"),
    pytest.param({}, "password", id="password-missing"),
])
def test_register_refuses_a_bad_password_with_400(client, db_engine, body, field):
    name = unique("pw")
    error = error_of(send(client, "POST", REGISTER, {"username": name, **body}), 400)
    assert field in (error.get("fields") or {}), error
    assert count_users(db_engine, name) == 0


def test_register_refuses_a_body_that_is_not_an_object(client):
    error_of(send(client, "POST", REGISTER, ["user", PASSWORD]), 400)
    response = client.post(REGISTER, data='{"username":', content_type="application/json")
    error_of(response, 400)


def test_a_taken_username_is_409_whatever_its_case(client, db_engine):
    name = unique("Taken")
    register(client, name)
    for variant in (name, name.lower(), name.upper()):
        error = error_of(send(client, "POST", REGISTER, {"username": variant, "password": "another password"}),
                         409, "username_taken")
        assert "username" in error.get("fields", {}), error
    assert count_users(db_engine, name) == 1
    # The first account still opens with its own password, not the one tried later.
    login(client, name)
    error_of(send(client, "POST", LOGIN, {"username": name, "password": "another password"}), 401)


def test_concurrent_registrations_of_one_name_give_one_account_and_no_500(app, db_engine):
    name = unique("Race")
    variants = [name, name.lower(), name.upper()] * 2
    barrier = threading.Barrier(len(variants))

    def attempt(variant):
        barrier.wait(timeout=10)
        return send(app.test_client(), "POST", REGISTER, {"username": variant, "password": PASSWORD})

    with ThreadPoolExecutor(len(variants)) as pool:
        responses = list(pool.map(attempt, variants))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (len(variants) - 1), statuses
    for response in responses:
        if response.status_code == 409:
            error_of(response, 409, "username_taken")
    assert count_users(db_engine, name) == 1


# ---- login --------------------------------------------------------------------------------------

def test_login_returns_a_token_and_a_csrf_token(client):
    name = unique("login")
    user = register(client, name)
    body = login(client, name)
    assert body["user"] == user
    assert isinstance(body["token"], str) and len(body["token"]) >= 32
    assert isinstance(body["token_id"], int)
    assert isinstance(body["csrf_token"], str) and len(body["csrf_token"]) >= 16
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert expires > datetime.now(timezone.utc) + timedelta(days=1)
    assert body["token"] != body["csrf_token"]
    # Two logins: two different tokens.
    assert login(client, name)["token"] != body["token"]


def test_wrong_password_and_unknown_user_get_the_same_401(client):
    name = unique("creds")
    register(client, name)
    wrong_password = send(client, "POST", LOGIN, {"username": name, "password": "not the password"})
    unknown_user = send(client, "POST", LOGIN, {"username": unique("nobody"), "password": PASSWORD})
    first = error_of(wrong_password, 401)
    second = error_of(unknown_user, 401)
    assert first == second, (first, second)
    assert name not in first["message"]
    # A failed login leaves no session behind.
    error_of(client.get(ME), 401)


@pytest.mark.parametrize("body", [
    pytest.param({"username": "someone"}, id="no-password"),
    pytest.param({"password": PASSWORD}, id="no-username"),
    pytest.param({"username": 5, "password": PASSWORD}, id="username-int"),
    pytest.param({"username": "someone", "password": ["x"]}, id="password-list"),
])
def test_login_with_malformed_credentials_is_400(client, body):
    error_of(send(client, "POST", LOGIN, body), 400)


# ---- me, logout ---------------------------------------------------------------------------------

def test_me_with_a_bearer_token_and_with_the_session_cookie(app, client):
    name = unique("me")
    user = register(client, name)
    body = login(client, name)  # `client` keeps the session cookie
    by_cookie = expect(client.get(ME), 200)
    assert by_cookie["user"] == user and by_cookie["csrf_token"] == body["csrf_token"]
    stranger = app.test_client()  # no cookie
    by_bearer = expect(stranger.get(ME, headers=bearer(body["token"])), 200)
    assert by_bearer["user"] == user
    # A Bearer request leaves no session cookie behind.
    assert "Set-Cookie" not in stranger.get(ME, headers=bearer(body["token"])).headers
    assert stranger.get_cookie("session") is None


@pytest.mark.parametrize("headers", [
    pytest.param({}, id="nothing"),
    pytest.param({"Authorization": "Bearer not-a-real-token"}, id="unknown-token"),
    pytest.param({"Authorization": "Bearer "}, id="empty-token"),
    pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, id="basic-auth"),
])
def test_anonymous_me_is_401(app, headers):
    error_of(app.test_client().get(ME, headers=headers), 401)


def test_logout_with_bearer_revokes_that_token_only(app, client):
    name = unique("logout")
    register(client, name)
    first, second = login(client, name), login(client, name)
    anonymous = app.test_client()
    expect(send(anonymous, "POST", "/api/v1/auth/logout", headers=bearer(first["token"])), 204)
    error_of(anonymous.get(ME, headers=bearer(first["token"])), 401)
    error_of(send(anonymous, "POST", "/api/v1/tournaments", {"name": "After logout", "game": "go"},
                  headers=bearer(first["token"])), 401)
    expect(anonymous.get(ME, headers=bearer(second["token"])), 200)
    listed = {t["id"]: t for t in expect(anonymous.get(TOKENS, headers=bearer(second["token"])), 200)["items"]}
    assert listed[first["token_id"]]["revoked"] is True
    assert listed[second["token_id"]]["revoked"] is False


def test_logout_with_the_cookie_ends_the_session(client):
    name = unique("cookie-out")
    register(client, name)
    body = login(client, name)
    expect(send(client, "POST", "/api/v1/auth/logout", headers={"X-CSRF-Token": body["csrf_token"]}), 204)
    error_of(client.get(ME), 401)


def test_anonymous_logout_is_401(app):
    error_of(app.test_client().post("/api/v1/auth/logout"), 401)


# ---- tokens -------------------------------------------------------------------------------------

def test_token_list_shows_the_owners_tokens_without_their_secret(app, client):
    name = unique("tokens")
    register(client, name)
    first, second = login(client, name), login(client, name)
    response = app.test_client().get(TOKENS, headers=bearer(second["token"]))
    items = expect(response, 200)["items"]
    assert {t["id"] for t in items} == {first["token_id"], second["token_id"]}
    text = response.get_data(as_text=True)
    assert first["token"] not in text and second["token"] not in text
    for token in items:
        assert {"id", "name", "created_at", "expires_at", "revoked"} <= set(token)
        assert not {"token", "token_hash", "hash", "secret"} & set(token), token
    error_of(app.test_client().get(TOKENS), 401)


def test_a_token_can_be_revoked_by_its_owner_and_not_by_anyone_else(app, client):
    owner, other = unique("owner"), unique("other")
    register(client, owner)
    register(client, other)
    mine, spare = login(client, owner), login(client, owner)
    theirs = login(client, other)
    api = app.test_client()
    # Someone else's token id: 404, as for a token that does not exist, and it keeps working.
    error_of(api.delete(f"{TOKENS}/{mine['token_id']}", headers=bearer(theirs["token"])), 404)
    error_of(api.delete(f"{TOKENS}/999999999", headers=bearer(theirs["token"])), 404)
    expect(api.get(ME, headers=bearer(mine["token"])), 200)
    error_of(api.delete(f"{TOKENS}/{mine['token_id']}"), 401)
    # The owner revokes it (from another of their tokens): it is refused from then on.
    expect(api.delete(f"{TOKENS}/{mine['token_id']}", headers=bearer(spare["token"])), 204)
    error_of(api.get(ME, headers=bearer(mine["token"])), 401)
    expect(api.get(ME, headers=bearer(spare["token"])), 200)


def test_a_token_past_its_expiry_is_refused(app, client, db_engine):
    name = unique("expired")
    register(client, name)
    body = login(client, name)
    api = app.test_client()
    expect(api.get(ME, headers=bearer(body["token"])), 200)
    with db_engine.begin() as conn:
        conn.execute(sa.update(api_tokens).where(api_tokens.c.id == body["token_id"])
                     .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    error_of(api.get(ME, headers=bearer(body["token"])), 401)
    error_of(send(api, "POST", "/api/v1/tournaments", {"name": "Late", "game": "go"},
                  headers=bearer(body["token"])), 401)


def test_tokens_expire_after_token_ttl_seconds(make_app, client):
    name = unique("ttl")
    register(client, name)
    short_lived = make_app(TOKEN_TTL_SECONDS=1)
    body = login(short_lived.test_client(), name)
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert expires <= datetime.now(timezone.utc) + timedelta(seconds=2)
    api = short_lived.test_client()
    time.sleep(1.5)
    error_of(api.get(ME, headers=bearer(body["token"])), 401)


# ---- what is stored -----------------------------------------------------------------------------

def test_passwords_are_stored_as_scrypt_hashes(client, db_engine):
    name = unique("hash")
    register(client, name)
    row = user_row(db_engine, name)
    assert row.password_hash != PASSWORD and PASSWORD not in row.password_hash
    assert row.password_hash.startswith("scrypt:"), row.password_hash[:20]
    # Two accounts with the same password get different hashes (salted).
    other = unique("hash")
    register(client, other)
    assert user_row(db_engine, other).password_hash != row.password_hash


def test_tokens_are_stored_hashed(client, db_engine):
    name = unique("tokhash")
    register(client, name)
    body = login(client, name)
    row = token_row(db_engine, body["token_id"])
    assert row.token_hash != body["token"] and body["token"] not in row.token_hash
    with db_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(api_tokens)
                            .where(api_tokens.c.token_hash == body["token"])).scalar() == 0


# ---- site admins --------------------------------------------------------------------------------

def test_create_admin_command_makes_a_site_admin(app, client, platform_env):
    name = unique("admin")
    register(client, name)
    body = login(client, name)
    env = {**os.environ, **platform_env}
    done = subprocess.run([sys.executable, str(ROOT / "run.py"), "create-admin", name.upper()], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    me = expect(app.test_client().get(ME, headers=bearer(body["token"])), 200)
    assert me["user"]["is_admin"] is True
    unknown = subprocess.run([sys.executable, str(ROOT / "run.py"), "create-admin", unique("nobody")], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=60)
    assert unknown.returncode != 0
