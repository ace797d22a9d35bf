"""Accounts and API tokens: register, authenticate, issue, list and revoke."""
import hashlib
import re
import secrets
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from orchestrator.extensions import db
from orchestrator.models import ApiToken, User
from orchestrator.services import passwords
from shared.errors import APIError

USERNAME = re.compile(r"[A-Za-z0-9_.-]{3,30}")
# Checked against when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password", method="scrypt")


def _now():
    return datetime.now(timezone.utc)


def hash_password(password):
    return generate_password_hash(password, method="scrypt")


def registration_problems(username, password, password_min_length):
    """{field: problem} for a new account's username and password; empty when both may be used."""
    problems = {}
    if not USERNAME.fullmatch(username):
        problems["username"] = "must be 3 to 30 letters, digits, '.', '_' or '-'"
    problem = passwords.password_problem(password, username, password_min_length)
    if problem:
        problems["password"] = problem
    return problems


def register(username, password):
    """A new account. :raise 409: when the username is taken, in any case."""
    if db.session.execute(sa.select(User.id).where(User.username_key == username.lower())).first():
        raise APIError(409, "username_taken", f"The username {username!r} is taken.",
                       {"username": "is taken"})
    user = User(username=username, username_key=username.lower(), password_hash=hash_password(password),
                is_admin=False, created_at=_now())
    db.session.add(user)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:  # registered by someone else a moment ago
        db.session.rollback()
        raise APIError(409, "username_taken", f"The username {username!r} is taken.",
                       {"username": "is taken"}) from None
    return user


def authenticate(username, password):
    """The account these credentials open. :raise 401: for a wrong username or password alike."""
    user = db.session.execute(sa.select(User).where(User.username_key == username.lower())).scalar()
    if not check_password_hash(user.password_hash if user else _DUMMY_HASH, password) or user is None:
        raise APIError(401, "invalid_credentials", "Wrong username or password.")
    return user


def token_hash(plaintext):
    return hashlib.sha256(plaintext.encode()).hexdigest()


def issue_token(user, name, ttl_seconds):
    """(plaintext token, its record); the plaintext is shown once and never stored."""
    plaintext = secrets.token_urlsafe(32)
    now = _now()
    token = ApiToken(user_id=user.id, token_hash=token_hash(plaintext), name=name, created_at=now,
                     expires_at=now + timedelta(seconds=ttl_seconds))
    db.session.add(token)
    db.session.commit()
    return plaintext, token


def _live_token(*conditions):
    row = db.session.execute(
        sa.select(User, ApiToken).join(ApiToken, ApiToken.user_id == User.id)
        .where(*conditions, ApiToken.revoked_at.is_(None), ApiToken.expires_at > _now())).first()
    return (row[0], row[1]) if row else (None, None)


def user_for_token(plaintext):
    """(user, token) for a live token, or (None, None)."""
    return _live_token(ApiToken.token_hash == token_hash(plaintext))


def login_of_session(user_id, login_id):
    """(user, token) of a cookie session while the login it came from (its token) is live, else
    (None, None).

    A login is one session whatever carries it: revoking its token, by logout or from the token
    list, ends its cookie too, and a copied cookie dies with it.
    """
    return _live_token(User.id == user_id, ApiToken.id == login_id)


def list_tokens(user):
    return db.session.execute(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                              .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).scalars().all()


def revoke_token(user, token_id):
    """Revoke one of `user`'s tokens. :raise 404: for a token that is not theirs."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise APIError(404, "token_not_found", f"No token {token_id} of yours.")
    if token.revoked_at is None:
        token.revoked_at = _now()
        db.session.commit()
        _logins_changed()
    return token


def revoke_all_tokens(user):
    """Revoke every live token of `user`, and so end every session: log out everywhere."""
    db.session.execute(sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=_now()))
    db.session.commit()
    _logins_changed()


def make_admin(username):
    """Give `username` site-admin rights (the create-admin command). :raise LookupError: unknown user."""
    user = db.session.execute(sa.select(User).where(User.username_key == username.lower())).scalar()
    if user is None:
        raise LookupError(f"no user {username!r}")
    user.is_admin = True
    db.session.commit()
    _logins_changed()
    return user


def _logins_changed():
    """After the commit: no worker or replica may go on trusting what it kept of a login."""
    logins = current_app.extensions.get("logins")
    if logins is not None:
        logins.changed()
