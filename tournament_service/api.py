"""The tournament server's HTTP API (DESIGN.md "Tournament server API")."""

from flask import Blueprint, Response, current_app, g, jsonify, request, stream_with_context

from shared import validation as v
from shared.errors import APIError, error_response
from shared.identity import InvalidIdentity
from shared.sse import SSE_HEADERS, BadLastEventId, event_stream, parse_last_event_id
from tournament_service.engine.matches import STATUSES
from tournament_service.health import health_document
from tournament_service import permissions
from tournament_service.permissions import ANONYMOUS, Actor
from tournament_service.tournament import DomainError

bp = Blueprint("tournament_api", __name__, url_prefix="/api")

TEAM_FIELDS = {
    "name": v.Field(v.string(1, 50), required=True),
    "seed": v.Field(v.integer(1), nullable=True),
    "players": v.Field(lambda value: _players(value), nullable=True),
    # The organizer's choice of captain (a user id, or null for none); others captain their own.
    "captain": v.Field(v.integer(1, 2**31 - 1), nullable=True),
}
RESULT_FIELDS = {
    # null is a draw, where the format allows draws.
    "winner": v.Field(v.string(1, 40), required=True, nullable=True),
    "scores": v.Field(lambda value: _scores(value), nullable=True),
}


def _players(value):
    if not isinstance(value, list) or len(value) > 20:
        raise ValueError("must be a list of at most 20 names")
    return [v.string(1, 50)(name) for name in value]


def _scores(value):
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= 1000 for s in value)):
        raise ValueError("must be [team1 score, team2 score], two integers from 0 to 1000")
    return value


def server():
    return current_app.extensions["tournament_server"]


@bp.before_request
def identify_caller():
    """Every write must carry an identity signed by the gateway for exactly this request."""
    g.actor = ANONYMOUS
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    try:
        claims = current_app.extensions["identity_verifier"].verify(request.headers, request.method, request.path)
    except InvalidIdentity as exc:
        raise APIError(401, "unauthenticated", f"Refused: {exc}.")
    g.actor = Actor.from_claims(claims)


@bp.errorhandler(DomainError)
def domain_error(exc):
    return error_response(exc.status, exc.code, exc.message, exc.fields)


@bp.get("/health")
def health():
    """Who this process is, for the supervisor's checks and adoption."""
    # Answered by tournament_service.health.HealthFirst in front of the app; this route serves
    # what reaches Flask anyway (a query string, say) with the same document.
    return jsonify(health_document(server(), current_app.config["SERVER_TOKEN"]))


@bp.get("/state")
def state():
    return jsonify(server().tournament.summary())


@bp.get("/teams")
def list_teams():
    return jsonify({"items": server().tournament.team_list()})


@bp.post("/teams")
def register_team():
    body = v.validate(v.json_object(), TEAM_FIELDS)
    team = server().register_team(body["name"], body.get("seed"), body.get("players"), g.actor,
                                  body.get("captain", permissions.NOT_NAMED))
    return jsonify(team), 201


@bp.delete("/teams/<team_id>")
def unregister_team(team_id):
    server().unregister_team(team_id, g.actor)
    return "", 204


@bp.post("/start")
def start():
    server().start(g.actor)
    return jsonify(server().tournament.summary())


@bp.get("/matches")
def list_matches():
    round_no = v.query_int("round", minimum=1, maximum=4096)
    status = v.query_choice("status", STATUSES)
    return jsonify({"items": server().tournament.match_list(round_no, status)})


@bp.post("/matches/<match_id>/result")
def record_result(match_id):
    body = v.validate(v.json_object(), RESULT_FIELDS)
    return jsonify(server().record_result(match_id, body["winner"], body.get("scores"), g.actor))


@bp.post("/matches/<match_id>/abandon")
def abandon_match(match_id):
    v.validate(v.json_object(), {})
    return jsonify(server().abandon_match(match_id, g.actor))


@bp.post("/teams/<team_id>/check-in")
def check_in(team_id):
    v.validate(v.json_object(), {})
    return jsonify(server().check_in(team_id, g.actor))


@bp.post("/teams/<team_id>/disqualify")
def disqualify(team_id):
    v.validate(v.json_object(), {})
    return jsonify(server().disqualify(team_id, g.actor))


@bp.post("/teams/<team_id>/drop")
def drop(team_id):
    v.validate(v.json_object(), {})
    return jsonify(server().drop(team_id, g.actor))


@bp.get("/standings")
def standings():
    tournament = server().tournament
    return jsonify({"items": tournament.standings(), **tournament.standings_rules()})


@bp.get("/bracket")
def bracket():
    return jsonify(server().tournament.bracket())


@bp.post("/cancel")
def cancel():
    server().cancel(g.actor)
    return jsonify(server().tournament.summary())


@bp.post("/archive")
def archive():
    server().archive(g.actor)
    return jsonify(server().tournament.summary())


@bp.get("/events")
def event_feed():
    try:
        last_id = parse_last_event_id(request.headers.get("Last-Event-ID"), request.args.get("last_event_id"))
    except BadLastEventId as exc:
        raise APIError(400, "invalid_input", str(exc), {"Last-Event-ID": "must be a non-negative integer"})
    srv = server()
    stream = event_stream(srv.hub, srv.channel, srv.feed, last_id,
                          current_app.config["SSE_HEARTBEAT_SECONDS"])
    return Response(stream_with_context(stream), headers=SSE_HEADERS)
