"""The tournament server's API as clients reach it, through the gateway at /t/{tournament_id}/api/...

Each public view of `tournament_service.api` is listed here with what it takes and answers; the
paths come from the rules the views are registered under. `tests/api/test_openapi.py` fails when
a rule is neither described here nor listed in NOT_API.
"""
from flask import Flask

from shared import openapi as oa
from shared.state_machine import ACTIONS, STATES
from tournament_service import api, forms, metrics, page_snapshot, pages
from tournament_service.engine.matches import STATUSES

GATEWAY_PREFIX = "/t/{tournament_id}"
TAGS = [{"name": "tournament server", "description": "One tournament's own server, reached through the "
                                                     "orchestrator's gateway at `/t/{tournament_id}/`. Its "
                                                     "writes need a login at the orchestrator."}]

# Rules the orchestrator itself calls, not part of the public API.
INTERNAL = {
    api.health: "the supervisor's liveness check; it carries the adoption token",
    api.cancel: "the orchestrator forwards POST /api/v1/tournaments/{id}/cancel here",
    api.archive: "the orchestrator forwards POST /api/v1/tournaments/{id}/archive here",
    page_snapshot.rendered_pages: "the orchestrator keeps the rendered pages when the tournament ends",
    metrics.scrape: "Prometheus text format for the monitoring, on the server's private address (listed by "
                    "GET /api/v1/metrics/targets); the gateway never forwards /metrics",
}
# The HTML pages people read in a browser (`pages.py`): not part of the JSON API.
PAGES = {
    pages.tournament_page: "the tournament's page: teams, bracket and standings (with `X-Fragment: results`, "
                           "the results section alone, for the page's script)",
    pages.fragment: "a part of the page, for its live refresh (HTML, the page's own partial)",
    forms.signup: "the page's signup form (a form body; the JSON API is POST /api/teams)",
    forms.start: "the organizer's start button on the page (the JSON API is POST /api/start)",
    forms.check_in: "the page's check-in button (the JSON API is POST /api/teams/{team_id}/check-in)",
    forms.record_result: "the page's results form (the JSON API is POST /api/matches/{match_id}/result); "
                         "with `X-Fragment: results`, answered with the results section at the result's status",
}
NOT_API = {**INTERNAL, **PAGES}

ID = {"type": "string"}
TEAM_ID = {"type": ["string", "null"], "description": "A team id (`team_3`), or null while the slot is empty."}
SCORES = {
    "anyOf": [{"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 1000},
               "minItems": 2, "maxItems": 2},
              {"type": "null"}],
    "description": "Games won as `[team1's, team2's]`: in the order of the match's `team1_id` and "
                   "`team2_id`, **not** winner first. null when no score was given.",
    "example": [2, 1],
}
LINK = oa.nullable({"type": "object", "properties": {"match_id": ID, "slot": {"type": "integer"}}})
SOURCE = oa.nullable({"type": "object", "properties": {"match_id": ID, "outcome": {"enum": ["winner", "loser"]}}})

SCHEMAS = {
    "Team": {
        "type": "object",
        "required": ["id", "name", "seed", "captain"],
        "properties": {
            "id": {**ID, "example": "team_1"},
            "name": {"type": "string"},
            "seed": {"type": ["integer", "null"], "description": "Fixed at the start (1 is the best)."},
            "captain": {"type": ["integer", "null"], "description": "The user id of whoever registered it."},
            "players": {"type": "array", "items": {"type": "string"}},
            "checked_in": {"type": "boolean", "description": "Only when the tournament has `check_in`."},
            "disqualified": {"type": "boolean"},
            "dropped": {"type": "boolean"},
        },
    },
    "TeamInput": {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 50,
                     "description": "Unique in the tournament (case-insensitively); runs of whitespace "
                                    "count as one space; no control characters."},
            "seed": {"type": ["integer", "null"], "minimum": 1,
                     "description": "At most max_teams, and not given to another team."},
            "players": {"anyOf": [{"type": "array", "maxItems": 20,
                                   "items": {"type": "string", "minLength": 1, "maxLength": 50}},
                                  {"type": "null"}]},
            "captain": {"type": ["integer", "null"], "minimum": 1, "maximum": 2**31 - 1,
                        "description": "The organizer only: the user id who captains this team, or null "
                                       "for none (the organizer's own entries have no captain otherwise). "
                                       "Anyone else captains the team they register (one per tournament)."},
        },
        "example": {"name": "Fierce Dragons", "players": ["Ana", "Ben"]},
    },
    "Match": {
        "type": "object",
        "required": ["id", "round", "team1_id", "team2_id", "status", "winner", "scores"],
        "properties": {
            "id": {**ID, "example": "r1_match_1"},
            "round": {"type": "integer"},
            "position": {"type": "integer", "description": "Its place in the round, from 1."},
            "team1_id": TEAM_ID,
            "team2_id": TEAM_ID,
            "status": {"enum": list(STATUSES), "description": "pending (to play), reported (one captain "
                       "reported, the other must confirm), disputed (the reports differ: the organizer "
                       "decides), completed, bye (one team, no opponent), void (nobody plays it)."},
            "winner": {"type": ["string", "null"], "description": "A team id; null until decided, and "
                                                                  "for a draw."},
            "loser": {"type": ["string", "null"]},
            "scores": SCORES,
            "bracket": {"type": ["string", "null"], "description": "Brackets: winners, losers, "
                                                                   "grand_final, third_place."},
            "group": {"type": ["string", "null"], "description": "group_playoff: the group's label."},
            "stage": {"type": "string", "description": "group_playoff: groups or playoff."},
            "reports": {"type": "object", "description": "The captains' reports by team id: "
                                                         "`{winner, scores}` each.",
                        "additionalProperties": {"type": "object", "properties": {
                            "winner": {"type": ["string", "null"]}, "scores": SCORES}}},
            "forfeit": {"description": "The team (or teams) that forfeited it."},
            "winner_to": LINK, "loser_to": LINK, "team1_from": SOURCE, "team2_from": SOURCE,
        },
    },
    "ResultInput": {
        "type": "object",
        "required": ["winner"],
        "additionalProperties": False,
        "properties": {
            "winner": {"type": ["string", "null"], "minLength": 1, "maxLength": 40,
                       "description": "The winning team's id; null is a draw where the format allows one."},
            "scores": {**SCORES, "description": "Optional games won as `[team1's, team2's]`, in the "
                                                "match's team order (**not** winner first); they must "
                                                "fit the best-of and agree with `winner`."},
        },
        "example": {"winner": "team_1", "scores": [2, 1]},
    },
    "State": {
        "type": "object",
        "required": ["tournament_id", "state", "round", "allowed_actions", "champion", "seq"],
        "properties": {
            "tournament_id": ID,
            "name": {"type": ["string", "null"]},
            "state": {"enum": list(STATES)},
            "round": {"type": "integer", "description": "The round being played; 0 before the start."},
            "allowed_actions": {"type": "array", "items": {"enum": list(ACTIONS)}},
            "format": {"type": ["string", "null"]},
            "options": {"type": "object", "description": "Every option of its format, defaults filled in."},
            "teams_count": {"type": "integer"},
            "min_teams": {"type": ["integer", "null"]},
            "max_teams": {"type": ["integer", "null"]},
            "best_of": {"type": ["integer", "null"]},
            "champion": {"type": ["string", "null"], "description": "The champion's team id once "
                                                                    "COMPLETED (null if the final was void)."},
            "seq": {"type": "integer", "description": "The last event of its log (the SSE id)."},
        },
    },
    "StandingsRow": {
        "type": "object",
        "required": ["rank", "team_id", "name", "seed", "wins", "losses"],
        "properties": {
            "rank": {"type": "integer", "description": "Tied rows share a rank."},
            "team_id": ID, "name": {"type": "string"}, "seed": {"type": "integer"},
            "wins": {"type": "integer"}, "losses": {"type": "integer"}, "draws": {"type": "integer"},
            "played": {"type": "integer"}, "byes": {"type": "integer"},
            "points": {"type": "number"}, "game_wins": {"type": "integer"}, "game_losses": {"type": "integer"},
            "tiebreaks": {"type": "object", "description": "Each tiebreak's value, in ranking order.",
                          "additionalProperties": {"type": ["number", "null"]}},
            "eliminated": {"type": "boolean"}, "round_reached": {"type": "integer"},
            "group": {"type": "string"}, "group_rank": {"type": "integer"},
            "disqualified": {"type": "boolean"}, "dropped": {"type": "boolean"},
        },
    },
    "Standings": {
        **oa.items_of("StandingsRow"),
        "description": "Ranked by the round reached (elimination) or by points and then `tiebreaks`.",
    },
    "Bracket": {
        "type": "object",
        "required": ["sections"],
        "properties": {
            "format": {"type": ["string", "null"]},
            "sections": {"type": "array", "description": "Matches by bracket, group and round, in "
                                                         "drawing order.",
                         "items": {"type": "object", "required": ["round", "name", "matches"], "properties": {
                             "bracket": {"type": ["string", "null"]}, "group": {"type": ["string", "null"]},
                             "round": {"type": "integer"}, "name": {"type": "string"},
                             "matches": {"type": "array", "items": oa.ref("Match")}}}},
            "groups": {"type": "object", "description": "group_playoff: team ids by group.",
                       "additionalProperties": {"type": "array", "items": ID}},
        },
    },
}
SCHEMAS["Standings"]["properties"].update({
    "ranked_by": {"enum": ["round_reached", "points"]},
    "points": {"type": "object", "properties": {k: {"type": "integer"} for k in ("win", "draw", "loss")}},
    "tiebreaks": {"type": "array", "items": {"type": "string"}},
})
SCHEMAS["Standings"]["required"] = ["items", "ranked_by"]

PATH_PARAMS = {
    "team_id": oa.path_param("team_id", "A team of this tournament.", "team_1"),
    "match_id": oa.path_param("match_id", "A match of this tournament.", "r1_match_1"),
}
SSE = {"200": {"description": "Server-Sent Events, each `id:` (its seq), `event:` (its type) and `data:` (the "
                              "event as JSON), and a comment heartbeat. `Last-Event-ID` (or `?last_event_id=`) "
                              "replays what came after that seq first.",
               "content": {"text/event-stream": {"schema": {
                   "type": "object", "description": "One event of the stream.", "required": ["id", "event", "data"],
                   "properties": {"id": {"type": "string", "pattern": "^[0-9]+$"}, "event": {"type": "string"},
                                  "data": {"type": "string", "contentMediaType": "application/json"}}}}}}}
LAST_EVENT_ID = [{"name": "Last-Event-ID", "in": "header", "required": False,
                  "schema": {"type": "string", "pattern": "^[0-9]+$"}},
                 oa.query_param("last_event_id", "For clients that can't set the header.",
                                {"type": "integer", "minimum": 0})]
READ, WRITE = oa.OPTIONAL_LOGIN, oa.WRITE_LOGIN
TAG = ["tournament server"]


def _read(summary, schema, **kw):
    return {"get": oa.operation(summary, {"200": oa.json_response("OK", schema)}, tags=TAG,
                                security=READ, errors=(404, 503), **kw)}


def _write(summary, responses, errors=(400, 401, 403, 404, 409, 503), body=oa.EMPTY_BODY, **kw):
    return {"post": oa.operation(summary, responses, tags=TAG, security=WRITE, errors=errors, body=body, **kw)}


DESCRIBED = [
    (api.state, _read("The tournament's state, round, allowed actions and champion", oa.ref("State"))),
    (api.list_teams, _read("The registered teams", oa.items_of("Team"))),
    (api.register_team, _write(
        "Register a team (REGISTRATION); the caller becomes its captain",
        {"201": oa.json_response("Registered", oa.ref("Team"))}, body=oa.json_body(oa.ref("TeamInput")),
        description="409 `team_name_taken`, `seed_taken`, `tournament_full`, `already_captain`, or `illegal_state` "
                    "outside REGISTRATION.")),
    (api.unregister_team, {"delete": oa.operation(
        "Unregister a team (REGISTRATION; its captain or the organizer)", {"204": oa.no_content("Unregistered")},
        tags=TAG, security=WRITE, errors=(401, 403, 404, 409, 503))}),
    (api.check_in, _write("Check a team in (REGISTRATION, with `check_in`; its captain or the organizer)",
                          {"200": oa.json_response("The team", oa.ref("Team"))})),
    (api.disqualify, _write("Disqualify a team (ACTIVE; the organizer): its open matches are forfeited",
                            {"200": oa.json_response("The team", oa.ref("Team"))})),
    (api.drop, _write("Drop a team (ACTIVE; its captain or the organizer): it forfeits what is open and "
                      "keeps its place", {"200": oa.json_response("The team", oa.ref("Team"))})),
    (api.start, _write("Start (REGISTRATION -> ACTIVE; the organizer): seeds the teams, builds round 1",
                       {"200": oa.json_response("The new state", oa.ref("State"))})),
    (api.list_matches, _read(
        "Matches: without filters, those playable now; with filters, every match that passes them",
        oa.items_of("Match"),
        parameters=[oa.query_param("round", "Only this round.", {"type": "integer", "minimum": 1, "maximum": 4096}),
                    oa.query_param("status", "Only matches in this status.", {"enum": list(STATUSES)})])),
    (api.record_result, _write(
        "Record a result: a captain's report, or the organizer's final result or correction",
        {"200": oa.json_response("The match after the result", oa.ref("Match"))},
        body=oa.json_body(oa.ref("ResultInput")),
        description="With `confirm_results` (the default) a captain's report waits for the opponent's: "
                    "the same result completes the match, a different one disputes it, and only the "
                    "organizer settles a dispute. The organizer's result is final; on a completed match "
                    "it is a correction (409 `result_locked` once later matches depend on it). "
                    "`scores` are `[team1's, team2's]` in the match's team order.")),
    (api.abandon_match, _write("Abandon a match (ACTIVE; the organizer): a double forfeit",
                               {"200": oa.json_response("The void match", oa.ref("Match"))})),
    (api.standings, _read("The ranked table", oa.ref("Standings"))),
    (api.bracket, _read("The whole bracket or schedule, for drawing it", oa.ref("Bracket"))),
    (api.event_feed, {"get": oa.operation("This tournament's events (SSE)", SSE, tags=TAG, security=READ,
                                          errors=(400, 404, 503), parameters=LAST_EVENT_ID)}),
]


def describe(spec, path_params):
    """Add the tournament server's public API to `spec`, under the gateway's prefix; `path_params`
    holds the orchestrator's parameters the prefix names (tournament_id)."""
    app = Flask(__name__)  # only its URL map is used: the rules the views are registered under
    app.register_blueprint(api.bp)
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema)
    oa.add_paths(spec, app, DESCRIBED, {**path_params, **PATH_PARAMS}, prefix=GATEWAY_PREFIX)
    return app
