"""The tournament's own pages, reached through the gateway at /t/<id>/: server-rendered HTML that
works without JavaScript, drawn from the same reads the API answers (`api.py`)."""
from flask import Blueprint, current_app, render_template, request

from tournament_service import bracket_view

bp = Blueprint("tournament_pages", __name__)
ROUND_KEY_MAX = 12
FOLLOW_REFRESH_SECONDS = 20


@bp.get("/")
def tournament_page():
    """The tournament at a glance: teams while registering, the bracket and standings once started."""
    tournament = current_app.extensions["tournament_server"].tournament
    summary = tournament.summary()
    teams = tournament.team_list()
    standings = {"items": tournament.standings(), **tournament.standings_rules()}
    view = bracket_view.picture(summary, teams, tournament.bracket(), standings, tournament.group_standings())
    # An unknown tab is not an error on a page: the current round is shown instead.
    chosen = (request.args.get("round") or "")[:ROUND_KEY_MAX]
    keys = {s["key"] for b in view.get("brackets", []) for s in b["rounds"]} | {
        s["key"] for s in view.get("rounds", [])}
    view["selected"] = chosen if chosen in keys else view["current"]
    if request.args.get("follow") == "current":
        # A screen at a venue: the matches being played, reloaded without JavaScript.
        return render_template("follow.html", summary=summary, view=view,
                               live=bracket_view.live_sections(view["sections"]), refresh=FOLLOW_REFRESH_SECONDS)
    return render_template("tournament.html", summary=summary, config=tournament.config, teams=teams,
                           standings=standings, view=view,
                           tiebreak_names=bracket_view.TIEBREAK_NAMES)
