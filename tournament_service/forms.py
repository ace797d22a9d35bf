"""The tournament page's form posts (/forms/...): form bodies, the same commands as the JSON API.

The gateway has checked the form's CSRF token and signed who is posting. A success redirects back to
the page with a notice (post/redirect/get); a refusal renders the page with the server's own
message, at the status the API would answer. The results form's script (static/results.js) asks
with the X-Fragment header instead: then the answer is the results section alone, with the notice
or the refusal, at the same status (200 for a success).
"""
from flask import Blueprint, current_app, redirect, request

from shared import validation as v
from shared.errors import APIError
from shared.identity import InvalidIdentity
from shared.state_machine import IllegalAction
from tournament_service.api import TEAM_FIELDS
from tournament_service.engine.matches import COMPLETED, DISPUTED, REPORTED
from tournament_service.page_forms import result_fields, signup_fields
from tournament_service.pages import page_viewer, render_page, render_results, wants_fragment
from tournament_service.tournament import DomainError

bp = Blueprint("tournament_forms", __name__, url_prefix="/forms")
RESULT_NOTICES = {REPORTED: "reported", DISPUTED: "disputed", COMPLETED: "recorded"}


def _server():
    return current_app.extensions["tournament_server"]


def _submit(command, fragment=False):
    """Run `command(actor)` for the signed caller: a notice code, or the page with the refusal.
    `fragment`: the post may be answered with the results section alone, when its script asks."""
    try:
        actor, form_token = page_viewer()
    except InvalidIdentity as exc:
        raise APIError(401, "unauthenticated", f"Refused: {exc}.")
    render = render_results if fragment and wants_fragment() else render_page
    try:
        notice = command(actor)
    except (APIError, DomainError) as exc:
        return render(actor, form_token, refusal={"message": exc.message, "fields": exc.fields or {}},
                      status=exc.status)
    except IllegalAction as exc:
        # The API's wording ("Can't trigger event record_result from state COMPLETED") is for programs.
        message = f"The tournament is {exc.state.lower()} now: {exc.action.replace('_', ' ')} is not possible."
        return render(actor, form_token, refusal={"message": message, "fields": {}}, status=409)
    if render is render_results:
        return render_results(actor, form_token, notice=notice)
    # 303: the browser fetches the page again with GET, and a reload does not post twice.
    return redirect(f"/?notice={notice}", code=303)


@bp.post("/signup")
def signup():
    def command(actor):
        body = v.validate(signup_fields(request.form), TEAM_FIELDS)
        _server().register_team(body["name"], None, body.get("players"), actor)
        return "signed_up"
    return _submit(command)


@bp.post("/start")
def start():
    def command(actor):
        _server().start(actor)
        return "started"
    return _submit(command)


@bp.post("/teams/<team_id>/check-in")
def check_in(team_id):
    def command(actor):
        _server().check_in(team_id, actor)
        return "checked_in"
    return _submit(command)


@bp.post("/matches/<match_id>/result")
def record_result(match_id):
    def command(actor):
        body = result_fields(request.form)
        match = _server().record_result(match_id, body["winner"], body.get("scores"), actor)
        return RESULT_NOTICES.get(match["status"], "recorded")
    return _submit(command, fragment=True)
