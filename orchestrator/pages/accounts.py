"""Log in, register and log out from the pages: the same services and limits as /api/v1/auth."""
import functools

from flask import flash, redirect, render_template, request, url_for

from orchestrator import auth
from orchestrator.api.auth import CREDENTIALS, log_in, log_out, register_account
from orchestrator.pages import bp
from orchestrator.services import passwords
from shared import validation as v
from shared.errors import APIError


def login_required(view):
    """Send an anonymous visitor to the login page, and back here after it."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if auth.viewer() is None:
            return redirect(url_for("pages.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapped


def _next_page():
    """Where to go after logging in: a path on this site only (never another host)."""
    target = request.values.get("next", "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("pages.home")


def _credentials():
    return v.validate({"username": request.form.get("username", ""),
                       "password": request.form.get("password", "")}, CREDENTIALS)


def _account_page(template, problems, message=None, status=200):
    return render_template(template, problems=problems, message=message, next=request.values.get("next", ""),
                           username=request.form.get("username", ""),
                           password_max=passwords.MAX_LENGTH), status


@bp.route("/login", methods=("GET", "POST"))
def login():
    if request.method == "GET":
        return _account_page("login.html", {})
    try:
        body = _credentials()
        _user, _token, _record, _csrf, remember_device = log_in(body["username"], body["password"], url_for("pages.login"))
    except APIError as exc:
        if exc.status == 400:
            return _account_page("login.html", exc.fields or {}, exc.message, 400)
        return _account_page("login.html", {}, exc.message, exc.status)
    flash("You are logged in.", "success")
    return remember_device(redirect(_next_page()))


@bp.route("/register", methods=("GET", "POST"))
def register():
    if request.method == "GET":
        return _account_page("register.html", {})
    try:
        body = _credentials()
        register_account(body["username"], body["password"])
    except APIError as exc:
        return _account_page("register.html", exc.fields or {}, exc.message, exc.status)
    flash("Your account is ready: log in.", "success")
    return redirect(url_for("pages.login", next=request.form.get("next") or None))


@bp.post("/logout")
def logout():
    user = auth.viewer()
    if user is not None:
        log_out(user)
    flash("You are logged out.", "success")
    return redirect(url_for("pages.home"))
