"""/api/v1/tournaments: the registry and the lifecycle commands."""
from flask import Blueprint, current_app, jsonify, request

from orchestrator import auth
from orchestrator.services import registry, server_client, snapshots
from shared import formats
from shared import state_machine as sm
from shared import validation as v

bp = Blueprint("tournaments", __name__, url_prefix="/api/v1/tournaments")

TOURNAMENT_FIELDS = {
    "name": v.Field(v.string(1, 100), required=True),
    "game": v.Field(v.string(1, 50), required=True),
    "format": v.Field(v.one_of(*registry.FORMATS)),
    "max_teams": v.Field(v.integer(2, 1024)),
    "min_teams": v.Field(v.integer(2, 1024)),
    "best_of": v.Field(v.one_of(1, 3, 5, 7)),
    "description": v.Field(v.string(0, 2000, strip=False)),
    "starts_at": v.Field(v.timestamp(), nullable=True),
    **formats.OPTION_FIELDS,
}


def _organizer_of(tournament_id):
    """401 for anonymous callers, 404 for an unknown id (or another's draft), 403 unless the caller
    organizes it."""
    auth.require_user()
    return auth.require_organizer(auth.visible_tournament(tournament_id))


def spawner():
    return current_app.extensions["spawner"]


@bp.get("")
def list_tournaments():
    state = v.query_choice("state", sm.STATES)
    limit = v.query_int("limit", 20, 1, 100)
    page, next_cursor = registry.list_tournaments(state, v.query_string("game", 50), limit,
                                                  request.args.get("cursor"), auth.viewer())
    return jsonify({"items": [t.to_dict() for t in page], "next_cursor": next_cursor})


@bp.post("")
def create_tournament():
    organizer = auth.require_user()
    fields = v.validate(v.json_object(), TOURNAMENT_FIELDS)
    return jsonify(registry.create_tournament(fields, organizer.id).to_dict()), 201


@bp.get("/<tournament_id>")
def get_tournament(tournament_id):
    return jsonify(auth.visible_tournament(tournament_id).to_dict())


@bp.patch("/<tournament_id>")
def update_tournament(tournament_id):
    _organizer_of(tournament_id)
    fields = v.validate(v.json_object(), TOURNAMENT_FIELDS, partial=True)
    return jsonify(registry.update_tournament(tournament_id, fields).to_dict())


@bp.delete("/<tournament_id>")
def delete_tournament(tournament_id):
    _organizer_of(tournament_id)
    registry.delete_tournament(tournament_id)
    return "", 204


@bp.post("/<tournament_id>/publish")
def publish(tournament_id):
    _organizer_of(tournament_id)
    return jsonify(registry.publish_tournament(tournament_id, spawner(), current_app.config).to_dict())


@bp.post("/<tournament_id>/cancel")
def cancel(tournament_id):
    _organizer_of(tournament_id)
    return jsonify(registry.cancel_tournament(tournament_id, spawner(), current_app.config, auth.identity_headers).to_dict())


@bp.post("/<tournament_id>/archive")
def archive(tournament_id):
    _organizer_of(tournament_id)
    return jsonify(registry.archive_tournament(tournament_id, spawner(), current_app.config, auth.identity_headers).to_dict())


def _served_endpoint(tournament_id, action):
    tournament = auth.visible_tournament(tournament_id)
    if tournament.state not in sm.SERVED_STATES:
        raise sm.IllegalAction(action, tournament.state)
    if not tournament.endpoint:
        raise server_client.ServerUnavailable(tournament_id, "it is not running")
    return tournament.endpoint


@bp.get("/<tournament_id>/teams")
def list_teams(tournament_id):
    tournament = auth.visible_tournament(tournament_id)
    if tournament.state == sm.DRAFT:
        return jsonify({"items": []})
    if tournament.state not in sm.SERVED_STATES:
        ended = snapshots.view(tournament.final_snapshot, "api/teams") if tournament.final_snapshot else None
        return jsonify(ended or {"items": []})
    return jsonify(server_client.query(_served_endpoint(tournament_id, "view"), tournament_id, "/api/teams"))


@bp.post("/<tournament_id>/teams")
def register_team(tournament_id):
    auth.require_user()
    body = v.json_object()
    endpoint = _served_endpoint(tournament_id, "register_team")
    identity = auth.identity_headers(registry.get_tournament(tournament_id), "POST", "/api/teams")
    return jsonify(server_client.command(endpoint, tournament_id, "/api/teams", identity, body)), 201
