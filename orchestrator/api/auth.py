"""/api/v1/auth: accounts, sessions and API tokens."""
from flask import Blueprint, current_app, jsonify, request

from orchestrator import auth, login_limits
from orchestrator.login_limits import LoginLimits
from orchestrator.services import accounts, passwords
from shared import validation as v
from shared.errors import APIError

bp = Blueprint("auth", __name__, url_prefix="/api/v1/auth")

CREDENTIALS = {
    "username": v.Field(v.string(1, 30), required=True),
    "password": v.Field(v.string(1, passwords.MAX_LENGTH, strip=False), required=True),
}
LOGOUT_FIELDS = {"everywhere": v.Field(v.one_of(True, False))}


def _limits():
    return LoginLimits.from_config(current_app.extensions["readiness_redis"], current_app.config)


def register_account(username, password):
    """A new account, under the same rate limit and password policy wherever it is asked for.

    :raise 429: past the address's limit. :raise 400: naming the fields the policy refuses.
    """
    _limits().attempt(request.remote_addr)
    fields = accounts.registration_problems(username, password, current_app.config["PASSWORD_MIN_LENGTH"])
    if fields:
        raise APIError(400, "invalid_input", "The request has invalid fields.", fields)
    return accounts.register(username, password)


def log_in(username, password, cookie_path):
    """Check the password under the login limits and start a cookie session on a new login token.

    :return: (user, token, its record, the session's CSRF token, a function that sets the
        known-device cookie, scoped to `cookie_path`, on a response).
    :raise 429: while the limits refuse. :raise 401: for a wrong username or password.
    """
    limits, secret = _limits(), current_app.config["SECRET_KEY"]
    device = request.cookies.get(login_limits.KNOWN_DEVICE_COOKIE)
    limits.before_login(request.remote_addr, username,
                        known_device=username.lower() in login_limits.known_accounts(device, secret))
    try:
        user = accounts.authenticate(username, password)
    except APIError:
        limits.failed(request.remote_addr, username)
        raise
    token, record = accounts.issue_token(user, "login", current_app.config["TOKEN_TTL_SECONDS"])
    csrf_token = auth.start_session(user, record)

    def remember_device(response):
        response.set_cookie(login_limits.KNOWN_DEVICE_COOKIE, login_limits.remember_account(device, secret, user.username),
                            max_age=login_limits.KNOWN_DEVICE_SECONDS, path=cookie_path, httponly=True,
                            samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
        return response
    return user, token, record, csrf_token, remember_device


def log_out(user, everywhere=False):
    """End this login (its cookie session and its token), or with `everywhere` every login of `user`."""
    if everywhere:
        accounts.revoke_all_tokens(user)
    else:
        accounts.revoke_token(user, auth.current_login_id())
    auth.end_session()


@bp.post("/register")
def register():
    body = v.validate(v.json_object(), CREDENTIALS)
    return jsonify(register_account(body["username"], body["password"]).to_dict()), 201


@bp.post("/login")
def login():
    body = v.validate(v.json_object(), CREDENTIALS)
    user, token, record, csrf_token, remember_device = log_in(body["username"], body["password"], bp.url_prefix)
    return remember_device(jsonify({"user": user.to_dict(), "token": token, "token_id": record.id,
                                    "expires_at": record.to_dict()["expires_at"], "csrf_token": csrf_token}))


@bp.post("/logout")
def logout():
    """End this login: its cookie session and its token alike. `{"everywhere": true}` ends every
    login of the caller (every token, every session)."""
    user = auth.require_user()
    body = v.validate(v.json_object(), LOGOUT_FIELDS)
    log_out(user, body.get("everywhere", False))
    return "", 204


@bp.get("/me")
def me():
    user = auth.require_user()
    return jsonify({"user": user.to_dict(), "csrf_token": auth.csrf_token()})


@bp.get("/tokens")
def list_tokens():
    user = auth.require_user()
    return jsonify({"items": [t.to_dict() for t in accounts.list_tokens(user)]})


@bp.delete("/tokens/<int:token_id>")
def revoke_token(token_id):
    accounts.revoke_token(auth.require_user(), token_id)
    return "", 204
