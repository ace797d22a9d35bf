"""The password policy at registration (NIST SP 800-63B-4): at least 15 characters, not only
whitespace, not containing the username, not a common password, not easy to guess; each refusal
names the password field, says why, and creates no account.
"""
import secrets
import string
import time

import pytest
import sqlalchemy as sa

from shared.db.tables import users
from tests.auth.helpers import error_of, expect, login, send

REGISTER = "/api/v1/auth/register"


def count_users(db_engine, username):
    with db_engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(users)
                            .where(users.c.username_key == username.lower())).scalar()


def fresh_name():
    return f"Player-{secrets.token_hex(5)}"  # 17 characters


def refused(client, db_engine, username, password):
    """The `password` field's message of a refused registration, after checking nothing was created."""
    error = error_of(send(client, "POST", REGISTER, {"username": username, "password": password}), 400,
                     "invalid_input")
    assert set(error["fields"]) == {"password"}, error
    assert count_users(db_engine, username) == 0
    return error["fields"]["password"]


@pytest.mark.parametrize("password", [
    pytest.param(" " * 20, id="spaces"),
    pytest.param(" \t \t \t \t \t \t \t \t", id="spaces-and-tabs"),
    pytest.param("\u3000" * 16, id="ideographic-spaces"),
])
def test_a_whitespace_only_password_is_refused(client, db_engine, password):
    assert "whitespace" in refused(client, db_engine, fresh_name(), password)


def test_a_password_shorter_than_15_characters_is_refused(client, db_engine):
    assert "at least 15 characters" in refused(client, db_engine, fresh_name(), "Vx7#qLp2!mZr9w")


@pytest.mark.parametrize("make_password", [
    pytest.param(lambda name: name, id="equal"),
    pytest.param(lambda name: name.upper(), id="equal-other-case"),
    pytest.param(lambda name: f"my {name.lower()} rocks!", id="containing"),
])
def test_a_password_containing_the_username_is_refused(client, db_engine, make_password):
    name = fresh_name()
    assert "username" in refused(client, db_engine, name, make_password(name))


@pytest.mark.parametrize("password", ["123456789987654321", "1qaz2wsx3edc4rfv", "qwerty123456789",
                                      "QAZWSXEDCRFVTGB"])
def test_a_common_password_is_refused(client, db_engine, password):
    assert "most common passwords" in refused(client, db_engine, fresh_name(), password)


@pytest.mark.parametrize("password", [
    pytest.param("aaaaaaaaaaaaaaaaaaaa", id="repeats"),
    pytest.param("abcdefghijklmnopqrst", id="sequence"),
    pytest.param("tournamenttournament1", id="site-word-repeated"),
    pytest.param("P@ssw0rdP@ssw0rd", id="leetspeak-repeat"),
])
def test_an_easily_guessed_password_is_refused_saying_why(client, db_engine, password):
    message = refused(client, db_engine, fresh_name(), password)
    assert message.startswith("is too easy to guess: ") and len(message) > len("is too easy to guess: ") + 5


@pytest.mark.parametrize("password", [
    pytest.param("correct horse battery", id="passphrase"),
    pytest.param("ça va être une belle journée", id="unicode-passphrase"),
    pytest.param("Vx7#qLp2!mZr9wK4", id="random-16"),
])
def test_a_good_password_is_taken_and_opens_the_account(client, password):
    name = fresh_name()
    expect(send(client, "POST", REGISTER, {"username": name, "password": password}), 201)
    login(client, name, password)


def test_a_long_random_password_is_judged_quickly(client):
    password = "".join(secrets.choice(string.ascii_letters + string.digits + string.punctuation) for _ in range(128))
    started = time.monotonic()
    expect(send(client, "POST", REGISTER, {"username": fresh_name(), "password": password}), 201)
    # Scoring the whole of it would take seconds of CPU per request.
    assert time.monotonic() - started < 2


def test_the_minimum_length_is_a_setting(make_app, db_engine):
    eight = make_app(PASSWORD_MIN_LENGTH=8).test_client()
    expect(send(eight, "POST", REGISTER, {"username": fresh_name(), "password": "Vx7#qLp2!m"}), 201)
    assert "at least 8 characters" in refused(eight, db_engine, fresh_name(), "Vx7#qL!")
