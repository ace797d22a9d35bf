"""Login and register are rate-limited per client and per username: 429 with Retry-After.

Each test gets an orchestrator (in this process) with small limits and a Redis namespace of its own;
the accounts are created beforehand through the default `client`, whose limits are out of reach,
so that only the attempts under test count.
"""
import pytest
import sqlalchemy as sa

from shared.db.tables import users
from tests.auth.helpers import PASSWORD, error_of, expect, register, send, unique, wait_for_fresh_window

LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"


def attempt(client, username, password=PASSWORD, headers=None):
    return send(client, "POST", LOGIN, {"username": username, "password": password}, headers=headers)


def assert_rate_limited(response):
    error = error_of(response, 429, "rate_limited")
    retry_after = response.headers.get("Retry-After")
    assert retry_after is not None and retry_after.isdigit(), f"Retry-After: {retry_after!r}"
    assert 0 < int(retry_after) <= 60, retry_after
    return error


@pytest.fixture
def limited_app(make_app, fresh_namespace):
    def make(per_client="100000/60", per_username="100000/60"):
        return make_app(REDIS_NAMESPACE=fresh_namespace, AUTH_RATE_LIMIT_PER_CLIENT=per_client,
                        AUTH_RATE_LIMIT_PER_USERNAME=per_username)
    wait_for_fresh_window()
    return make


def test_the_fourth_login_attempt_for_one_username_is_429_even_with_the_right_password(client, limited_app):
    name, other = unique("limited"), unique("neighbour")
    register(client, name)
    register(client, other)
    app = limited_app(per_username="3/60")
    limited = app.test_client()
    expect(attempt(limited, name, "wrong password"), 401)
    expect(attempt(limited, name, "wrong password"), 401)
    expect(attempt(limited, name), 200)
    assert_rate_limited(attempt(limited, name))
    assert_rate_limited(attempt(limited, name.upper()))  # the same username, whatever its case
    # From another client too: the limit is the username's.
    assert_rate_limited(attempt(app.test_client(), name))
    # Another username from the same client still gets in.
    assert expect(attempt(limited, other), 200)["user"]["username"] == other


def test_a_rate_limited_login_issues_no_token_and_no_session(client, limited_app):
    name = unique("nosession")
    register(client, name)
    limited = limited_app(per_username="1/60").test_client()
    expect(attempt(limited, name, "wrong password"), 401)
    response = attempt(limited, name)
    assert_rate_limited(response)
    assert "token" not in response.get_json()
    error_of(limited.get("/api/v1/auth/me"), 401)


def test_the_per_client_limit_holds_across_usernames(client, limited_app):
    names = [unique("client") for _ in range(3)]
    for name in names:
        register(client, name)
    app = limited_app(per_client="5/60")
    limited = app.test_client()
    expect(attempt(limited, names[0]), 200)
    expect(attempt(limited, names[0], "wrong password"), 401)
    expect(attempt(limited, names[1]), 200)
    expect(attempt(limited, names[1], "wrong password"), 401)
    expect(attempt(limited, names[2]), 200)
    # The sixth attempt from this client: refused, whichever username and password it brings.
    assert_rate_limited(attempt(limited, names[2]))
    assert_rate_limited(attempt(limited, unique("fresh")))
    # A header the client writes itself does not make it another client.
    assert_rate_limited(attempt(limited, names[0], headers={"X-Forwarded-For": "203.0.113.7",
                                                            "X-Real-IP": "203.0.113.7"}))
    # Another client (another address) is not limited by this one's attempts.
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.11.12.13"
    expect(attempt(elsewhere, names[0]), 200)


def test_register_is_rate_limited_per_client_and_creates_nothing_when_refused(limited_app, db_engine):
    limited = limited_app(per_client="2/60").test_client()
    register(limited, unique("reg"))
    register(limited, unique("reg"))
    refused = unique("reg")
    assert_rate_limited(send(limited, "POST", REGISTER, {"username": refused, "password": PASSWORD}))
    with db_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(users)
                            .where(users.c.username_key == refused.lower())).scalar() == 0


def test_register_is_rate_limited_per_username(limited_app):
    limited = limited_app(per_username="2/60").test_client()
    name = unique("regname")
    register(limited, name)
    error_of(send(limited, "POST", REGISTER, {"username": name, "password": PASSWORD}), 409)
    assert_rate_limited(send(limited, "POST", REGISTER, {"username": name, "password": PASSWORD}))
    assert_rate_limited(send(limited, "POST", LOGIN, {"username": name, "password": PASSWORD}))
