"""/api/v1/leaderboard: team ratings per game across ended tournaments, and a team's history."""
from flask import Blueprint, current_app, jsonify, request
from werkzeug.routing import BaseConverter

from orchestrator.services import leaderboard
from shared import validation as v
from shared.errors import APIError

bp = Blueprint("leaderboard", __name__, url_prefix="/api/v1/leaderboard")


class TeamName:
    """A team name as it came in the path, checked by the view (not by the path-id rules: names
    hold spaces and any letters)."""

    def __init__(self, text):
        self.text = text


class TeamNameConverter(BaseConverter):
    # The rest of the path: a name may hold a slash ("AC/DC"), sent as %2F or as it is.
    regex = ".+"
    part_isolating = False

    def to_python(self, value):
        return TeamName(value)

    def to_url(self, value):
        return super().to_url(value.text if isinstance(value, TeamName) else value)


@bp.record_once
def _set_up(state):
    # Before the rules below are added: their converter must be known by then.
    state.app.url_map.converters.setdefault("team_name", TeamNameConverter)
    state.app.extensions["leaderboard"] = leaderboard.BoardCache()


def cache():
    """This app's computed boards (orchestrator/services/leaderboard.py BoardCache)."""
    return current_app.extensions["leaderboard"]


def required_game():
    """`?game=`. :raise APIError 400: when absent or not a clean string."""
    game = v.query_string("game", 50)
    if game is None:
        raise v.invalid_query("game", "is required")
    return game


@bp.get("")
def list_ratings():
    game = required_game()
    limit = v.query_int("limit", 50, 1, 100)
    items, next_cursor = leaderboard.leaderboard(game, cache(), limit, request.args.get("cursor"))
    return jsonify({"game": game, "items": items, "next_cursor": next_cursor})


@bp.get("/games")
def list_games():
    return jsonify({"items": leaderboard.games()})


@bp.get("/teams/<team_name:team_name>")
def team_history(team_name):
    game = required_game()
    try:
        name = v.string(1, 100)(team_name.text)
    except ValueError as exc:
        raise APIError(400, "invalid_input", "The path has invalid parts.", {"team_name": str(exc)}) from None
    return jsonify(leaderboard.team_history(game, name, cache()))
