"""/api/v1/subscriptions: the caller's followed tournaments."""
from flask import Blueprint, jsonify

from orchestrator import auth
from orchestrator.services import subscriptions
from shared import validation as v

bp = Blueprint("subscriptions", __name__, url_prefix="/api/v1/subscriptions")

SUBSCRIBE_FIELDS = {"tournament_id": v.Field(v.string(1, 40), required=True)}


@bp.get("")
def list_subscriptions():
    user = auth.require_user()
    return jsonify({"items": [s.to_dict() for s in subscriptions.list_subscriptions(user.id)]})


@bp.post("")
def subscribe():
    user = auth.require_user()
    body = v.validate(v.json_object(), SUBSCRIBE_FIELDS)
    subscription, created = subscriptions.subscribe(user, body["tournament_id"])
    return jsonify(subscription.to_dict()), 201 if created else 200


@bp.delete("/<tournament_id>")
def unsubscribe(tournament_id):
    user = auth.require_user()
    subscriptions.unsubscribe(user.id, tournament_id)
    return "", 204
