"""Who is calling: session cookie (flask-login) or Bearer token, CSRF for cookie writes, roles.

A Bearer request never writes a session cookie and needs no CSRF token; a cookie-authenticated
write must carry the session's CSRF token in `X-CSRF-Token`.
"""
import hmac
import secrets

from flask import g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user, user_loaded_from_request

from orchestrator.extensions import db, login_manager
from orchestrator.models import User
from orchestrator.services import accounts
from shared.errors import APIError
from shared.identity import sign

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Logging in and registering create the session; there is none to protect yet.
CSRF_EXEMPT = frozenset({"auth.login", "auth.register"})


@login_manager.user_loader
def load_user(user_id):
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


@login_manager.request_loader
def load_user_from_bearer(req):
    scheme, _, token = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    user, _token = accounts.user_for_token(token.strip())
    return user


@user_loaded_from_request.connect
def _mark_bearer(_app, user=None):
    g.authenticated_by_bearer = True


@login_manager.unauthorized_handler
def unauthorized():
    raise APIError(401, "unauthorized", "Log in first, or send Authorization: Bearer <token>.")


class BearerAwareSessionInterface(SecureCookieSessionInterface):
    """Flask-Login's documented pattern: a Bearer request leaves no session cookie behind."""

    def save_session(self, app, sess, response):
        if g.get("authenticated_by_bearer"):
            return
        super().save_session(app, sess, response)


def new_csrf_token():
    """Bind a fresh CSRF token to the session (at login) and return it."""
    session["csrf_token"] = secrets.token_urlsafe(24)
    return session["csrf_token"]


def csrf_token():
    return session.get("csrf_token")


def protect_from_csrf():
    """before_request: refuse a cookie-authenticated write without the session's CSRF token."""
    if request.method in SAFE_METHODS or request.endpoint in CSRF_EXEMPT:
        return
    if not current_user.is_authenticated or g.get("authenticated_by_bearer"):
        return
    expected, sent = session.get("csrf_token"), request.headers.get(CSRF_HEADER, "")
    if not expected or not hmac.compare_digest(expected, sent):
        raise APIError(403, "csrf_failed", f"A cookie-authenticated write needs the {CSRF_HEADER} header "
                                           "from login or /api/v1/auth/me.")


def require_user():
    """The logged-in user. :raise 401: when anonymous."""
    if not current_user.is_authenticated:
        unauthorized()
    return current_user


def is_organizer(user, tournament):
    return bool(user and user.is_authenticated and (user.is_admin or tournament.organizer_id == user.id))


def require_organizer(tournament):
    """The logged-in user when they organize `tournament` (or are an admin). :raise 401/403."""
    user = require_user()
    if not is_organizer(user, tournament):
        raise APIError(403, "forbidden", f"Only the organizer of {tournament.id} can do this.")
    return user


def identity_headers(tournament, method, path):
    """Signed headers telling `tournament`'s server who is calling, and as what, for this request."""
    from flask import current_app

    user = current_user if current_user.is_authenticated else None
    roles = []
    if user is not None:
        roles += ["admin"] if user.is_admin else []
        roles += ["organizer"] if is_organizer(user, tournament) else []
    return sign(current_app.config["GATEWAY_SECRET"], tournament.id, method, path,
                {"id": user.id, "username": user.username} if user else None, roles)
