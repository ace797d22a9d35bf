"""Login and register are rate-limited: every attempt per client; failed logins per username and
client, and per username from anywhere; 429 with Retry-After. Wrong passwords from others never keep
the owner out of their account on a device they logged in from before.

Each test gets an orchestrator (in this process) with small limits and a Redis namespace of its own;
the accounts are created beforehand through the default `client`, whose limits are out of reach,
so that only the attempts under test count.
"""
import pytest
import sqlalchemy as sa

from shared.db.tables import users
from tests.auth.helpers import PASSWORD, error_of, expect, register, send, unique
from tests.support.rate_windows import wait_for_fresh_window

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
    def make(per_client="100000/60", per_client_username="100000/60", per_username="100000/60"):
        return make_app(REDIS_NAMESPACE=fresh_namespace, AUTH_RATE_LIMIT_PER_CLIENT=per_client,
                        AUTH_FAILURES_PER_CLIENT_USERNAME=per_client_username,
                        AUTH_FAILURES_PER_USERNAME=per_username)
    wait_for_fresh_window()
    return make


def client_at(app, address):
    """A test client of `app` whose requests come from `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_wrong_passwords_from_others_do_not_lock_the_owner_out(client, limited_app):
    name = unique("owner")
    register(client, name)
    app = limited_app(per_username="3/60")
    laptop = client_at(app, "10.0.0.1")
    expect(attempt(laptop, name), 200)  # the owner has logged in from this laptop before
    # Attackers from many addresses, each under its own limits, fail against the username ...
    for number in range(5):
        expect_or_limited = attempt(client_at(app, f"10.9.9.{number}"), name, "wrong password")
        assert expect_or_limited.status_code in (401, 429), expect_or_limited.status_code
    # ... which is now refused to anyone new, whatever password they bring (no oracle) ...
    assert_rate_limited(attempt(client_at(app, "10.9.9.99"), name))
    assert_rate_limited(attempt(client_at(app, "10.9.9.98"), name.upper(), "wrong password"))
    # ... while the owner's known device still gets in with the right password, and only with it.
    assert expect(attempt(laptop, name), 200)["user"]["username"] == name
    expect(attempt(laptop, name, "wrong password"), 401)


def registered(client, *prefixes):
    """Fresh usernames, one per prefix, each registered."""
    names = [unique(prefix) for prefix in prefixes]
    for name in names:
        register(client, name)
    return names


def test_a_known_device_counts_for_its_own_accounts_only(client, limited_app):
    name, other = registered(client, "known", "other")
    app = limited_app(per_username="2/60")
    laptop = client_at(app, "10.0.1.1")
    expect(attempt(laptop, name), 200)
    for number in range(2):
        expect(attempt(client_at(app, f"10.0.1.{10 + number}"), other, "wrong password"), 401)
    assert_rate_limited(attempt(laptop, other))
    # An edited cookie is worth nothing.
    forged = client_at(app, "10.0.1.20")
    forged.set_cookie("known_device", laptop.get_cookie("known_device", path="/api/v1/auth").value[:-2] + "xx",
                      path="/api/v1/auth")
    assert_rate_limited(attempt(forged, other))


def test_failures_from_one_client_lock_that_client_out_of_that_username_only(client, limited_app):
    name, neighbour = registered(client, "pair", "neighbour")
    app = limited_app(per_client_username="3/60")
    guesser = client_at(app, "10.0.2.1")
    for _ in range(3):
        expect(attempt(guesser, name, "wrong password"), 401)
    # The fourth try from this client is refused even with the right password ...
    assert_rate_limited(attempt(guesser, name))
    assert_rate_limited(attempt(guesser, name.upper()))  # the same username, whatever its case
    # ... but the owner elsewhere gets in, and the guesser may still log in to another account.
    expect(attempt(client_at(app, "10.0.2.2"), name), 200)
    assert expect(attempt(guesser, neighbour), 200)["user"]["username"] == neighbour


def test_successful_logins_never_count_against_the_username(client, limited_app):
    name = unique("busy")
    register(client, name)
    app = limited_app(per_client_username="2/60", per_username="2/60")
    for number in range(6):
        expect(attempt(client_at(app, f"10.0.3.{number}"), name), 200)
    expect(attempt(client_at(app, "10.0.3.99"), name), 200)


def test_unknown_usernames_count_failures_like_known_ones(limited_app):
    app = limited_app(per_client_username="2/60")
    guesser = client_at(app, "10.0.4.1")
    nobody = unique("nobody")
    expect(attempt(guesser, nobody), 401)
    expect(attempt(guesser, nobody), 401)
    assert_rate_limited(attempt(guesser, nobody))


def test_a_rate_limited_login_issues_no_token_and_no_session(client, limited_app):
    name = unique("nosession")
    register(client, name)
    limited = limited_app(per_client_username="1/60").test_client()
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
