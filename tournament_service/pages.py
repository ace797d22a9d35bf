"""The tournament's own pages, reached through the gateway at /t/<id>/: server-rendered HTML that
works without JavaScript, drawn from the same reads the API answers (`api.py`)."""
from datetime import datetime, timezone

from flask import Blueprint, current_app, render_template, request

from shared.identity import FORM_TOKEN_FIELD, InvalidIdentity
from tournament_service import bracket_view, page_forms
from tournament_service.permissions import ANONYMOUS, Actor

bp = Blueprint("tournament_pages", __name__)
ROUND_KEY_MAX = 12
FOLLOW_REFRESH_SECONDS = 20
OVER = ("COMPLETED", "ARCHIVED", "CANCELLED")
# The page's script (static/results.js) asks for the results section alone with this header.
FRAGMENT_HEADER = "X-Fragment"
RESULTS_FRAGMENT = "results"


def page_root():
    """The relative URL of the page's own directory (`/t/<id>/` through the gateway) from the URL
    this request's answer is shown at, so links, forms and assets resolve the same from `/` and
    from a refused form rendered at `/forms/matches/<id>/result` (a <base> element is ruled out by
    the CSP's `base-uri 'none'`). Pages shown at `/` whatever asked for them (the script's
    fragment, the final snapshot's pages) use "" instead."""
    return "../" * max(request.path.count("/") - 1, 0)


def wants_fragment():
    """True when the page's script asked for the results section alone."""
    return request.headers.get(FRAGMENT_HEADER) == RESULTS_FRAGMENT


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
    if wants_fragment():
        return render_results(actor, form_token)
    html, status = render_page(actor, form_token, notice=page_forms.NOTICES.get(request.args.get("notice", "")))
    return html, status, {"Vary": FRAGMENT_HEADER}


def render_results(actor, form_token, notice=None, refusal=None, status=200):
    """The results section alone, as the page's script swaps it in: the matches `actor` may act on
    now, with what their post did (a notice code, or a `refusal` {"message", "fields"})."""
    tournament = current_app.extensions["tournament_server"].tournament
    names = bracket_view.team_names(tournament.team_list())
    html = render_template("_results_form.html", summary=tournament.summary(), actor=actor,
                           forms=page_forms.forms_for(tournament, actor, names), form_token=form_token,
                           token_field=FORM_TOKEN_FIELD, fragment=True, notice_code=notice,
                           notice=page_forms.NOTICES.get(notice), refusal=refusal,
                           root="")  # its links land in the page at /, whatever URL it was asked at
    # Vary: the page's URL answers both the page and this section.
    return html, status, {"Vary": FRAGMENT_HEADER}


def render_page(actor, form_token, notice=None, refusal=None, status=200):
    """The tournament page for `actor`, with their forms (carrying `form_token`), a notice of what
    just succeeded or a `refusal` ({"message", "fields"}) of what did not."""
    tournament = current_app.extensions["tournament_server"].tournament
    follow = request.method == "GET" and request.args.get("follow") == "current"
    chosen = (request.args.get("round") or "")[:ROUND_KEY_MAX]
    return page_html(tournament, actor, form_token, chosen, follow, notice, refusal, root=page_root()), status


def page_html(tournament, actor, form_token, chosen="", follow=False, notice=None, refusal=None, root=""):
    """The HTML of `tournament`'s page as `actor` sees it, round `chosen` selected (an app context
    is needed for the templates); `follow`: the venue screen instead. `root`: the way from the URL
    it is shown at to the page's own directory (see page_root)."""
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
                               live=bracket_view.live_sections(view["sections"]), refresh=refresh, root=root)
    forms = page_forms.forms_for(tournament, actor, view["names"])
    check_in = page_forms.check_in_banner(tournament, datetime.now(timezone.utc))
    return render_template("tournament.html", summary=summary, config=tournament.config, teams=teams,
                           standings=standings, view=view, tiebreak_names=bracket_view.TIEBREAK_NAMES,
                           actor=actor, forms=forms, form_token=form_token, token_field=FORM_TOKEN_FIELD,
                           notice=notice, refusal=refusal, check_in=check_in, root=root)


def page_view(tournament):
    """(summary, teams, standings, bracket picture): what the page draws of `tournament`."""
    summary = tournament.summary()
    teams = tournament.team_list()
    standings = {"items": tournament.standings(), **tournament.standings_rules()}
    view = bracket_view.picture(summary, teams, tournament.bracket(), standings, tournament.group_standings())
    return summary, teams, standings, view
