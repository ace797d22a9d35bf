"""/api/v1/tournaments/<id>/chat: a tournament's chat history, posting and the organizer's deletions
(the live feed is /api/v1/events/tournaments/<id>/chat)."""
from flask import Blueprint, current_app, jsonify, request

from orchestrator import auth, ratelimit
from orchestrator.services import chat
from shared import validation as v

bp = Blueprint("chat", __name__, url_prefix="/api/v1/tournaments")

MESSAGE_FIELDS = {"body": v.Field(chat.check_body, required=True)}


def publish_to(tournament_id):
    """publish(JSON text) on the tournament's chat channel, after the caller's commit."""
    channel = current_app.extensions["channels"].tournament_chat(tournament_id)
    publisher = current_app.extensions["publisher"]
    return lambda text: publisher.publish(channel, text)


def rate_limit(key):
    """Count one post for `key`. :raise 429: with Retry-After past CHAT_RATE_LIMIT."""
    ratelimit.enforce(current_app.extensions["readiness_redis"], current_app.config["REDIS_NAMESPACE"], key,
                      ratelimit.parse_limit(current_app.config["CHAT_RATE_LIMIT"]))


@bp.get("/<tournament_id>/chat")
def chat_history(tournament_id):
    tournament = auth.visible_tournament(tournament_id)
    limit = v.query_int("limit", chat.HISTORY_LIMIT, 1, 100)
    items, next_cursor = chat.history(tournament.id, limit, chat.parse_cursor(request.args.get("cursor")))
    return jsonify({"items": items, "next_cursor": next_cursor})


@bp.post("/<tournament_id>/chat")
def post_chat_message(tournament_id):
    author = auth.require_user()
    tournament = auth.visible_tournament(tournament_id)
    body = v.validate(v.json_object(), MESSAGE_FIELDS)
    message = chat.post_message(tournament, author, body["body"], publish_to(tournament.id), rate_limit)
    return jsonify(message), 201


@bp.delete("/<tournament_id>/chat/<int:seq>")
def delete_chat_message(tournament_id, seq):
    actor = auth.require_user()
    tournament = auth.visible_tournament(tournament_id)
    chat.delete_message(tournament, actor, seq, publish_to(tournament.id))
    return "", 204
