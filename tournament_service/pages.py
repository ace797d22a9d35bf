"""The tournament's own pages, reached through the gateway at /t/<id>/: server-rendered HTML that
works without JavaScript, drawn from the same reads the API answers (`api.py`).

With JavaScript, parts of the page refetch themselves from `/fragments/<name>` when the page's
stream says the tournament changed: the same partial templates the page includes, rendered once per
change of the tournament for every viewer alike (see `FragmentCache`)."""
from datetime import datetime, timezone

from flask import Blueprint, current_app, render_template, request

from shared import formats
from shared.errors import APIError
from shared.http import SHARED_FRAGMENT_SEQ_HEADER as SEQ_HEADER
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


def page_context(tournament):
    """What every viewer of the page sees alike: summary, config, teams, standings, the picture
    (`view`, no round selected yet) and the names of the tiebreaks."""
    summary = tournament.summary()
    teams = tournament.team_list()
    standings = {"items": tournament.standings(), **tournament.standings_rules()}
    view = bracket_view.picture(summary, teams, tournament.bracket(), standings, tournament.group_standings())
    view["keys"] = {s["key"] for b in view.get("brackets", []) for s in b["rounds"]} | {
        s["key"] for s in view.get("rounds", [])}
    view["live"] = bracket_view.live_sections(view["sections"])
    # The venue screen reloads itself without JavaScript; once it is over nothing changes: no reload.
    refresh = None if summary["state"] in OVER else FOLLOW_REFRESH_SECONDS
    return {"summary": summary, "config": tournament.config, "teams": teams, "standings": standings, "view": view,
            "tiebreak_names": formats.TIEBREAK_NAMES, "refresh": refresh}


def with_round(context, chosen):
    """`context` with round `chosen` selected; an unknown tab is not an error on a page: the
    current round is shown instead."""
    view = context["view"]
    return dict(context, view=dict(view, selected=chosen if chosen in view["keys"] else view["current"]))


def page_html(tournament, actor, form_token, chosen="", follow=False, notice=None, refusal=None, root="",
              context=None):
    """The HTML of `tournament`'s page as `actor` sees it, round `chosen` selected (an app context
    is needed for the templates); `follow`: the venue screen instead. `root`: the way from the URL
    it is shown at to the page's own directory (see page_root). `context`: `page_context` of the
    tournament as it is, when the caller renders several pages of it."""
    context = with_round(context or page_context(tournament), chosen)
    if follow:
        # A screen at a venue: the matches being played (live with JavaScript, reloaded without).
        return render_template("follow.html", **context, root=root)
    forms = page_forms.forms_for(tournament, actor, context["view"]["names"])
    check_in = page_forms.check_in_banner(tournament, datetime.now(timezone.utc))
    return render_template("tournament.html", **context, chosen=chosen, actor=actor, forms=forms,
                           form_token=form_token, token_field=FORM_TOKEN_FIELD, notice=notice, refusal=refusal,
                           check_in=check_in, root=root)


# The parts of the page that refresh themselves: one partial template each, the one the page includes.
FRAGMENTS = {"head": "_head.html", "teams": "_team_list.html", "bracket": "_bracket.html",
             "standings": "_standings_area.html", "follow": "_follow.html"}


class FragmentCache:
    """The fragments as rendered for the tournament's current seq: a thousand viewers refetching
    the bracket after one result cost one rendering, then a dictionary lookup each.

    The fragments show nothing that depends on the viewer (their forms are not fragments), so one
    rendering per (fragment, round shown) serves everyone; all is dropped when the seq moves. An
    unknown `?round=` shows the current round, so it is cached as that one.
    """

    def __init__(self):
        self.tournament, self.seq, self.context, self.html = None, None, None, {}

    def get(self, tournament, name, chosen):
        """The HTML of fragment `name` with round `chosen` selected, rendered at most once per seq."""
        if tournament is not self.tournament or tournament.seq != self.seq or self.context is None:
            self.tournament, self.seq, self.html = tournament, tournament.seq, {}
            self.context = page_context(tournament)
        context = with_round(self.context, chosen)
        key = (name, context["view"]["selected"])
        if key not in self.html:
            # Shown in the page at its directory (live.js asks from there): links relative to it.
            self.html[key] = render_template(FRAGMENTS[name], **context, root="")
        return self.html[key]


@bp.get("/fragments/<name>")
def fragment(name):
    """One part of the page (`FRAGMENTS`) as the page shows it now, followed by those `?also=`
    names (comma-separated): the page refreshes all its parts with one request per event (htmx's
    hx-select and hx-select-oob pick them out of the answer). `?round=` as on the page.

    :raise 404: for a name that is no fragment."""
    also = request.args.get("also")
    wanted = [name] + (also.split(",") if also else [])
    unknown = [each for each in wanted if each not in FRAGMENTS]
    if unknown or len(wanted) > len(FRAGMENTS):
        raise APIError(404, "not_found", f"No fragment {(unknown or [also])[0]!r}; there are {', '.join(FRAGMENTS)}.")
    tournament = current_app.extensions["tournament_server"].tournament
    cache = current_app.extensions.setdefault("fragment_cache", FragmentCache())
    chosen = (request.args.get("round") or "")[:ROUND_KEY_MAX]
    seq = tournament.seq  # read first: what is rendered is of this seq or newer, never older
    html = "\n".join(cache.get(tournament, each, chosen) for each in wanted)
    # Always asked again: the answer changes with every result. The seq tells the orchestrator
    # this answer is every viewer's (orchestrator/fragment_cache.py).
    return html, 200, {"Cache-Control": "no-cache", SEQ_HEADER: str(seq)}
