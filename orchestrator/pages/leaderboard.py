"""The leaderboard pages: a game's ratings table, and one team's rating after each match."""
from flask import current_app, render_template, request

from orchestrator.pages import bp
from orchestrator.pages.tournaments import _text_filter
from orchestrator.services import leaderboard
from shared.errors import APIError

PAGE_SIZE = 50


def _cache():
    return current_app.extensions["leaderboard"]


@bp.get("/leaderboard")
def leaderboard_page():
    """The games to choose from, and the chosen game's teams best first, a page at a time."""
    problems = {}
    game = _text_filter("game", 50, problems)
    items, next_cursor = [], None
    if game is not None:
        try:
            items, next_cursor = leaderboard.leaderboard(game, _cache(), PAGE_SIZE, request.args.get("cursor") or None)
        except APIError as exc:
            problems.update(exc.fields or {"cursor": exc.message})
            items, next_cursor = leaderboard.leaderboard(game, _cache(), PAGE_SIZE)
    return render_template("leaderboard.html", game=game, games=leaderboard.games(), items=items,
                           next_cursor=next_cursor, problems=problems)


@bp.get("/leaderboard/team")
def team_page():
    """A team's rating in a game and its history. :raise 404: for a team without rated matches."""
    problems = {}
    game, name = _text_filter("game", 50, problems), _text_filter("name", 100, problems)
    if game is None or name is None:
        raise APIError(404, "team_not_found", "Choose a game and a team from the leaderboard.")
    return render_template("leaderboard_team.html", game=game,
                           team=leaderboard.team_history(game, name, _cache()))


VIEWS = (leaderboard_page, team_page)
