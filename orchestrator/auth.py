"""Who is calling: session cookie (flask-login) or Bearer token, CSRF for cookie writes, roles.

A login is one session: its cookie lives only as long as its token. A request with Authorization is
that token's alone, whatever cookie rides along. A Bearer request never writes a session cookie and
needs no CSRF token; a cookie-authenticated write must carry the session's CSRF token in
`X-CSRF-Token`. Every write's body is JSON, and browsers' writes from other sites are refused.
"""
import hmac
import secrets
from urllib.parse import urlsplit

from flask import current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user, login_user, logout_user, user_loaded_from_request
from flask_wtf.csrf import ValidationError, generate_csrf, validate_csrf

from orchestrator.extensions import login_manager
from orchestrator.services import accounts, registry
from shared.errors import APIError
from shared.identity import sign

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Logging in and registering create the session; there is none to protect yet.
CSRF_EXEMPT = frozenset({"auth.login", "auth.register"})
# Blueprints of HTML pages: their writes are same-site form posts carrying Flask-WTF's token in the
# form (orchestrator/pages), not JSON with the X-CSRF-Token header.
FORM_BLUEPRINTS = frozenset({"pages"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded"})
# The tournament servers' page forms, posted through the gateway to /t/<id>/forms/...: the gateway
# checks their Flask-WTF token itself, then forwards the body as it came.
SERVER_FORM_PREFIX = "/forms/"
# Requests whose caller may come from the login cache: they read only id, username and is_admin.
KEPT_LOGIN_ENDPOINTS = frozenset({"gateway.forward"})
# The session remembers which login (API token record) it belongs to; it lives only as long as that.
LOGIN_KEY = "login_id"


def bearer_token(req):
    """The token of an `Authorization: Bearer` header, None without one."""
    scheme, _, token = req.headers.get("Authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


@login_manager.user_loader
def load_user(user_id):
    """The user of the session cookie, while the login that made it is live (see start_session)."""
    # Credentials the client sends on purpose win over a cookie that merely rides along: a Bearer
    # client with a stale session cookie is that token's user, and needs no CSRF token.
    if "Authorization" in request.headers:
        return None
    login_id = session.get(LOGIN_KEY)
    if not user_id.isdigit() or not isinstance(login_id, int):
        return None
    user_id = int(user_id)
    return _user_of_login(("session", user_id, login_id), lambda: accounts.login_of_session(user_id, login_id))


@login_manager.request_loader
def load_user_from_bearer(req):
    token = bearer_token(req)
    if not token:
        return None
    return _user_of_login(("token", accounts.token_hash(token)), lambda: accounts.user_for_token(token))


def _user_of_login(key, load):
    """The login's user: through the gateway, from what this process keeps (orchestrator/login_cache.py),
    which holds only what the gateway reads; everywhere else the full record from the database."""
    if request.endpoint in KEPT_LOGIN_ENDPOINTS:
        return current_app.extensions["logins"].user(key, load)
    return load()[0]


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


def start_session(user, login):
    """Log `user` in on a fresh cookie session bound to `login` (their new token's record).

    :return: the session's CSRF token.
    """
    session.clear()  # nothing of an earlier session (its CSRF token, its login) carries over
    login_user(user)
    session[LOGIN_KEY] = login.id
    session["csrf_token"] = secrets.token_urlsafe(24)
    return session["csrf_token"]


def current_login_id():
    """The id of the token whose login this request rides on: the Bearer token's, or the cookie's."""
    token = bearer_token(request)
    if token:
        return accounts.user_for_token(token)[1].id
    return session.get(LOGIN_KEY)


def end_session():
    logout_user()
    session.clear()


def csrf_token():
    return session.get("csrf_token")


def refuse_cross_site_writes():
    """before_request: a write's body must be JSON (415 otherwise), and a browser's write from
    another site is refused (403), before any credential is looked at.

    The pages' forms (FORM_BLUEPRINTS) post form encodings instead; the same-site rule holds for them.
    A cross-site HTML form can only send form encodings or text/plain (whose body may well be valid
    JSON); application/json needs a CORS preflight this site never grants. Login and register carry
    no CSRF token, so this is what keeps another site from driving them.
    """
    if request.method in SAFE_METHODS:
        return
    has_body = bool(request.content_length) or "Transfer-Encoding" in request.headers
    if request.blueprint in FORM_BLUEPRINTS or posts_a_server_form():
        if has_body and request.mimetype not in FORM_TYPES:
            raise APIError(415, "unsupported_media_type", "Send the form as application/x-www-form-urlencoded.")
    elif has_body and not request.is_json:
        raise APIError(415, "unsupported_media_type", "Send the request body as JSON, with "
                                                      "Content-Type: application/json.")
    if "Authorization" not in request.headers and _from_another_site():
        raise APIError(403, "cross_site_request", "Writes from another site's pages are refused.")


def _from_another_site():
    # Sec-Fetch-Site is set by the browser itself; where it is missing (older browsers), the Origin
    # of the page that sent the request must be this host. Non-browser clients send neither.
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    return origin is not None and urlsplit(origin).netloc != request.host


def posts_a_server_form():
    """True for a write through the gateway to a tournament server's page form (SERVER_FORM_PREFIX)."""
    if request.endpoint != "gateway.forward" or request.method in SAFE_METHODS:
        return False
    from orchestrator.gateway import server_path  # the gateway imports this module

    return server_path(request.view_args.get("path", "")).startswith(SERVER_FORM_PREFIX)


def protect_from_csrf():
    """before_request: refuse a cookie-authenticated write without the session's CSRF token.

    The pages check their forms' own token instead (orchestrator/pages: Flask-WTF, every write);
    for the tournament servers' page forms, which never see the session, it is checked here."""
    if posts_a_server_form():
        return _check_server_form_token()
    if request.method in SAFE_METHODS or request.endpoint in CSRF_EXEMPT or request.blueprint in FORM_BLUEPRINTS:
        return
    if not current_user.is_authenticated or g.get("authenticated_by_bearer"):
        return
    expected, sent = session.get("csrf_token"), request.headers.get(CSRF_HEADER, "")
    if not expected or not hmac.compare_digest(expected, sent):
        raise APIError(403, "csrf_failed", f"A cookie-authenticated write needs the {CSRF_HEADER} header "
                                           "from login or /api/v1/auth/me.")


def _check_server_form_token():
    """:raise 403: unless the form carries this session's Flask-WTF token. :raise 411: a form
    without Content-Length (the body is read here, cached, and forwarded unchanged)."""
    if request.content_length is None:
        raise APIError(411, "length_required", "Send the form with a Content-Length.")
    request.get_data(cache=True)  # read first, so parsing the form leaves the raw body to forward
    try:
        validate_csrf(request.form.get(current_app.config["WTF_CSRF_FIELD_NAME"]))
    except ValidationError:
        raise APIError(403, "csrf_failed", "This form has expired or did not come from this site: "
                                           "reload the page and send it again.") from None


def require_user():
    """The logged-in user. :raise 401: when anonymous."""
    if not current_user.is_authenticated:
        unauthorized()
    return current_user


def viewer():
    """The logged-in user, or None: who a registry read is answered for."""
    return current_user if current_user.is_authenticated else None


def visible_tournament(tournament_id):
    """The tournament as the caller may see it. :raise 404: unknown, or someone else's draft."""
    return registry.get_visible_tournament(tournament_id, viewer())


def check_visible(tournament_id):
    """visible_tournament's check alone, its read shared by the requests asking at the same moment
    (a crowd opening a tournament's feeds). :raise 404: unknown, or someone else's draft."""
    registry.check_visible(tournament_id, viewer(), current_app.extensions["shared_reads"],
                           current_app.extensions["feed_engine"])


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
    user = viewer()
    roles = []
    if user is not None:
        roles += ["admin"] if user.is_admin else []
        roles += ["organizer"] if is_organizer(user, tournament) else []
    # Only the server's pages (not its /api/, nor the live stream) render forms, and only for a
    # cookie session: a Bearer client has no forms and needs no token.
    renders_forms = user is not None and not g.get("authenticated_by_bearer") and not path.startswith("/api/")
    form_token = generate_csrf() if renders_forms else None
    return sign(current_app.config["GATEWAY_SECRET"], tournament.id, method, path,
                {"id": user.id, "username": user.username} if user else None, roles, form_token=form_token)
