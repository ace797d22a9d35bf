"""/api/v1/servers: the fleet of tournament servers, and a person's restart of a FAILED one."""
from flask import Blueprint, current_app, jsonify

from orchestrator import auth
from orchestrator.services import fleet, registry
from shared import state_machine as sm
from shared.errors import APIError

bp = Blueprint("servers", __name__, url_prefix="/api/v1/servers")


@bp.get("")
def list_servers():
    """Admins see every server, organizers those of their tournaments."""
    user = auth.require_user()
    supervisor = current_app.extensions.get("supervisor")
    return jsonify({
        "items": fleet.fleet(user),
        "supervisor": {"holder": supervisor.holder, "leader": supervisor.is_leader} if supervisor else None,
    })


@bp.post("/<tournament_id>/restart")
def restart(tournament_id):
    tournament = registry.get_tournament(tournament_id)
    auth.require_organizer(tournament)
    if tournament.state not in sm.SERVED_STATES:
        raise APIError(409, "not_served", f"Tournament {tournament_id} is {tournament.state}: it has no server to run.")
    if fleet.server_row(tournament_id) is None:
        raise APIError(409, "not_started", f"Tournament {tournament_id} has no server yet.")
    return jsonify(fleet.allow_restart(tournament_id).to_dict()), 202
