"""The tournament's own pages, reached through the gateway at /t/<id>/: server-rendered HTML that
works without JavaScript, drawn from the same reads the API answers (`api.py`)."""
from flask import Blueprint, current_app, render_template, request

from shared.identity import FORM_TOKEN_FIELD, InvalidIdentity
from tournament_service import bracket_view, page_forms
from tournament_service.permissions import ANONYMOUS, Actor

bp = Blueprint("tournament_pages", __name__)
ROUND_KEY_MAX = 12
FOLLOW_REFRESH_SECONDS = 20
OVER = ("COMPLETED", "ARCHIVED", "CANCELLED")


def page_viewer():
    """(actor, form token) as the gateway vouched for this request; (ANONYMOUS, None) without a
    valid identity (a page read straight from the server's port, or by nobody logged in).

    :raise InvalidIdentity: only when asked to change something (the form posts)."""
    try:
        claims = current_app.extensions["identity_verifier"].verify(request.headers, request.method, request.path)
    except InvalidIdentity:
        if request.method in ("GET", "HEAD"):
            return ANONYMOUS, None
        raise
    return Actor.from_claims(claims), claims.get("ft")


@bp.get("/")
def tournament_page():
    """The tournament at a glance: teams while registering, the bracket and standings once started."""
    actor, form_token = page_viewer()
    return render_page(actor, form_token, notice=page_forms.NOTICES.get(request.args.get("notice", "")))


def render_page(actor, form_token, notice=None, refusal=None, status=200):
    """The tournament page for `actor`, with their forms (carrying `form_token`), a notice of what
    just succeeded or a `refusal` ({"message", "fields"}) of what did not."""
    tournament = current_app.extensions["tournament_server"].tournament
    follow = request.method == "GET" and request.args.get("follow") == "current"
    chosen = (request.args.get("round") or "")[:ROUND_KEY_MAX]
    return page_html(tournament, actor, form_token, chosen, follow, notice, refusal), status


def page_html(tournament, actor, form_token, chosen="", follow=False, notice=None, refusal=None):
    """The HTML of `tournament`'s page as `actor` sees it, round `chosen` selected (an app context
    is needed for the templates); `follow`: the venue screen instead."""
    summary, teams, standings, view = page_view(tournament)
    # An unknown tab is not an error on a page: the current round is shown instead.
    keys = {s["key"] for b in view.get("brackets", []) for s in b["rounds"]} | {
        s["key"] for s in view.get("rounds", [])}
    view["selected"] = chosen if chosen in keys else view["current"]
    if follow:
        # A screen at a venue: the matches being played, reloaded without JavaScript.
        # Once it is over nothing changes: no reload.
        refresh = None if summary["state"] in OVER else FOLLOW_REFRESH_SECONDS
        return render_template("follow.html", summary=summary, view=view,
                               live=bracket_view.live_sections(view["sections"]), refresh=refresh)
    forms = page_forms.forms_for(tournament, actor, view["names"])
    return render_template("tournament.html", summary=summary, config=tournament.config, teams=teams,
                           standings=standings, view=view, tiebreak_names=bracket_view.TIEBREAK_NAMES,
                           actor=actor, forms=forms, form_token=form_token, token_field=FORM_TOKEN_FIELD,
                           notice=notice, refusal=refusal)


def page_view(tournament):
    """(summary, teams, standings, bracket picture): what the page draws of `tournament`."""
    summary = tournament.summary()
    teams = tournament.team_list()
    standings = {"items": tournament.standings(), **tournament.standings_rules()}
    view = bracket_view.picture(summary, teams, tournament.bracket(), standings, tournament.group_standings())
    return summary, teams, standings, view
