"""The OpenAPI 3.1 document of the platform: the orchestrator's API and, through its gateway, each
tournament server's (tournament_service/openapi.py).

Each view is listed here with what it takes and answers; its path comes from the rule it is
registered under. `tests/api/test_openapi.py` fails when a rule is neither described nor listed
in NOT_API.
"""
from orchestrator import gateway, pages
from orchestrator.api import (auth, chat, docs, events, health, leaderboard, metrics, servers, subscriptions,
                              tournaments)
from shared import formats
from shared import openapi as oa
from shared.state_machine import STATES
from tournament_service import openapi as tournament_openapi

VERSION = "1"
DESCRIPTION = """\
A tournament platform: the orchestrator keeps the registry of tournaments and starts one server per
published tournament, reached through the gateway at `/t/{tournament_id}/`.

- **Log in** with `POST /api/v1/auth/login` and send `Authorization: Bearer <token>` (or, in a
  browser, the session cookie plus the `X-CSRF-Token` header on writes).
- **Errors** always come as `{"error": {"code", "message", "fields"}}`; 409 `illegal_state` names
  the action and the state (`Can't trigger event start from state DRAFT`).
- **Scores** are `[team1's, team2's]`: in the order of the match's `team1_id` and `team2_id`, not
  winner first.
- **Collections** come as `{"items": [...]}`, with `next_cursor` where paginated.
"""
TAGS = [
    {"name": "accounts", "description": "Registration, login, tokens."},
    {"name": "tournaments", "description": "The registry and the lifecycle: DRAFT -> REGISTRATION -> "
                                           "ACTIVE -> COMPLETED -> ARCHIVED, or CANCELLED."},
    {"name": "subscriptions", "description": "Tournaments a user follows (their notifications)."},
    {"name": "chat", "description": "Each tournament's chat: everyone reads, logged-in users post, the organizer "
                                    "deletes."},
    {"name": "feeds", "description": "Server-Sent Events."},
    {"name": "fleet", "description": "The tournament servers."},
    {"name": "leaderboard", "description": "Team ratings per game (openskill, Plackett-Luce) across COMPLETED "
                                           "and ARCHIVED tournaments."},
    {"name": "operations", "description": "Health, metrics, and this document."},
    *tournament_openapi.TAGS,
]
# Rules that are not part of the JSON API (the gateway's catch-all is described per path, through
# tournament_service/openapi.py).
NOT_API = {gateway.forward: "the gateway: each tournament server path is described under /t/{tournament_id}",
           **{view: "an HTML page for people (orchestrator/pages)" for view in pages.VIEWS}}

USERNAME = {"type": "string", "minLength": 3, "maxLength": 30, "pattern": "^[A-Za-z0-9._-]+$"}
ISO_TIME = {"type": "string", "format": "date-time"}
TOURNAMENT_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"}
BOOLEAN = {"type": ["boolean", "null"]}
OPTION_SCHEMAS = {
    "confirm_results": {**BOOLEAN, "description": "A captain's report waits for the opponent's (default true)."},
    "check_in": {**BOOLEAN, "description": "Teams must check in during REGISTRATION; the others are "
                                           "unregistered at the start (default false)."},
    "final_best_of": {"enum": [*formats.BEST_OF, None], "description": "The best-of of the final(s)."},
    "third_place_match": {**BOOLEAN, "description": "A match between the semifinal losers."},
    "grand_final": {"enum": ["reset", "single", "none", None], "description": "double_elimination's final."},
    "double_round_robin": {**BOOLEAN, "description": "Everyone meets twice, sides swapped."},
    "allow_draws": {**BOOLEAN, "description": "`winner: null` is a draw."},
    "swiss_rounds": {"type": ["integer", "null"], "minimum": 1, "maximum": 20,
                     "description": "Default ceil(log2 teams)."},
    "groups": {"type": ["integer", "null"], "minimum": 1, "maximum": 64},
    "advance_per_group": {"type": ["integer", "null"], "minimum": 1, "maximum": 16},
    "points": oa.nullable({"type": "object", "required": ["win", "draw", "loss"], "additionalProperties": False,
                           "properties": {k: {"type": "integer", "minimum": 0, "maximum": 100}
                                          for k in ("win", "draw", "loss")},
                           "description": "Match points; a win worth more than a draw, a draw at least a loss.",
                           "example": {"win": 3, "draw": 1, "loss": 0}}),
    "tiebreaks": oa.nullable({"type": "array", "items": {"enum": list(formats.TIEBREAKS)}, "minItems": 1,
                              "maxItems": len(formats.TIEBREAKS), "uniqueItems": True,
                              "description": "In order of use, after points."}),
}
for _name, _option in formats.OPTIONS.items():
    OPTION_SCHEMAS[_name]["description"] = (OPTION_SCHEMAS[_name].get("description", "") + " Formats: "
                                            + ", ".join(_option.formats) + "; null means the default.").strip()
TOURNAMENT_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "game": {"type": "string", "minLength": 1, "maxLength": 50},
    "format": {"enum": list(formats.FORMATS), "description": "Default single_elimination."},
    "max_teams": {"type": "integer", "minimum": 2, "maximum": 1024, "description": "Default 16."},
    "min_teams": {"type": "integer", "minimum": 2, "maximum": 1024, "description": "Default 2; at most max_teams."},
    "best_of": {"enum": list(formats.BEST_OF), "description": "Games per match (default 1)."},
    "description": {"type": "string", "maxLength": 2000},
    "starts_at": {"type": ["string", "null"], "format": "date-time",
                  "description": "ISO 8601; without an offset it is UTC."},
    **OPTION_SCHEMAS,
}
STRING_FIELDS_NOTE = ("Strings: no control characters; runs of whitespace in name and game count as one "
                      "space. An option of another format is refused with 400.")

SCHEMAS = {
    "User": {"type": "object", "required": ["id", "username", "is_admin", "created_at"], "properties": {
        "id": {"type": "integer"}, "username": {"type": "string"}, "is_admin": {"type": "boolean"},
        "created_at": ISO_TIME}},
    "Credentials": {"type": "object", "required": ["username", "password"], "additionalProperties": False,
                    "properties": {"username": USERNAME,
                                   "password": {"type": "string", "minLength": 8, "maxLength": 128}},
                    "example": {"username": "ana", "password": "correct horse battery"}},
    "Login": {"type": "object", "required": ["user", "token", "token_id", "expires_at", "csrf_token"], "properties": {
        "user": oa.ref("User"), "token": {"type": "string", "description": "Send as `Authorization: Bearer`."},
        "token_id": {"type": "integer"}, "expires_at": {"type": ["string", "null"], "format": "date-time"},
        "csrf_token": {"type": "string", "description": "For cookie-authenticated writes."}}},
    "Me": {"type": "object", "required": ["user"], "properties": {
        "user": oa.ref("User"), "csrf_token": {"type": ["string", "null"]}}},
    "ApiToken": {"type": "object", "required": ["id", "name", "created_at", "expires_at", "revoked"], "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "created_at": ISO_TIME,
        "expires_at": {"type": ["string", "null"], "format": "date-time"}, "revoked": {"type": "boolean"}}},
    "Tournament": {
        "type": "object",
        "required": ["id", "name", "game", "format", "max_teams", "min_teams", "best_of", "description",
                     "starts_at", "state", "organizer", "created_at", "updated_at", "endpoint", "champion"],
        "properties": {
            "id": {**TOURNAMENT_ID, "example": "t_0a1b2c3d4e"},
            **{key: schema for key, schema in TOURNAMENT_FIELDS.items()},
            "state": {"enum": list(STATES)},
            "organizer": {"type": ["integer", "null"], "description": "The organizer's user id."},
            "created_at": ISO_TIME, "updated_at": ISO_TIME,
            "endpoint": {"type": ["string", "null"], "description": "`/t/{id}/` while its server is up."},
            "champion": oa.nullable({"type": "object", "required": ["team_id", "name"], "properties": {
                "team_id": {"type": "string"}, "name": {"type": "string"}}}),
        },
        "description": "Every option of its format is shown, defaults filled in. `champion` is set once "
                       "the tournament is COMPLETED (and stays when ARCHIVED).",
    },
    "TournamentInput": {"type": "object", "additionalProperties": False, "properties": TOURNAMENT_FIELDS,
                        "description": STRING_FIELDS_NOTE,
                        "example": {"name": "Winter Open", "game": "chess", "format": "swiss", "max_teams": 32,
                                    "swiss_rounds": 5}},
    "TournamentPage": {**oa.items_of("Tournament", next_cursor={
        "type": ["string", "null"], "description": "Pass as `?cursor=` for the next page; null on the last."})},
    "Subscription": {"type": "object", "required": ["tournament_id", "created_at"], "properties": {
        "tournament_id": {"type": "string"}, "created_at": ISO_TIME}},
    "ServerRecord": {"type": "object", "required": ["tournament_id", "status"], "properties": {
        "tournament_id": {"type": "string"}, "status": {"type": "string"}, "pid": {"type": ["integer", "null"]},
        "host": {"type": ["string", "null"]}, "port": {"type": ["integer", "null"]},
        "started_at": {"type": ["string", "null"]}, "restarts": {"type": ["integer", "null"]},
        "last_check_at": {"type": ["string", "null"]}, "last_check_ok": {"type": ["boolean", "null"]},
        "last_error": {"type": ["string", "null"]}, "tournament_state": {"type": ["string", "null"]}}},
}
SCHEMAS["TournamentInput"]["required"] = []
SCHEMAS["TournamentCreate"] = {**SCHEMAS["TournamentInput"], "required": ["name", "game"]}

PATH_PARAMS = {
    "tournament_id": oa.path_param("tournament_id", "A tournament's id.", "t_0a1b2c3d4e", TOURNAMENT_ID),
    "token_id": oa.path_param("token_id", "One of the caller's tokens.", 1, {"type": "integer", "minimum": 0}),
    "team_name": oa.path_param("team_name", "A team's name, percent-encoded; case and runs of whitespace "
                               "don't matter.", "Red Fox", {"type": "string", "minLength": 1, "maxLength": 300}),
    "user_id": oa.path_param("user_id", "The caller's own user id.", 1, {"type": "integer", "minimum": 0}),
}
LIMITED = {"Retry-After": {"schema": {"type": "integer"}, "description": "On 429: seconds to wait."}}
SSE = tournament_openapi.SSE
LAST_EVENT_ID = tournament_openapi.LAST_EVENT_ID


def _op(summary, responses, tag, security=oa.LOGIN, **kw):
    return oa.operation(summary, responses, tags=[tag], security=security, **kw)


def _json(description, schema_name):
    return oa.json_response(description, oa.ref(schema_name))


def _lifecycle(summary, description):
    return {"post": _op(summary, {"200": _json("The tournament", "Tournament")}, "tournaments", oa.WRITE_LOGIN,
                        errors=(401, 403, 404, 409, 503), body=oa.EMPTY_BODY, description=description)}


DESCRIBED = [
    (auth.register, {"post": _op("Register an account", {"201": _json("The new user", "User")}, "accounts",
                                 oa.NO_LOGIN, errors=(400, 409, 429), body=oa.json_body(oa.ref("Credentials")),
                                 description="Usernames: 3-30 letters, digits, `.`, `_`, `-`; passwords 8-128 "
                                             "characters.")}),
    (auth.login, {"post": _op("Log in: a Bearer token, and a session cookie for browsers",
                              {"200": _json("Logged in", "Login")}, "accounts", oa.NO_LOGIN,
                              errors=(400, 401, 429), body=oa.json_body(oa.ref("Credentials")))}),
    (auth.logout, {"post": _op("Log out; a Bearer token used for it is revoked", {"204": oa.no_content("Done")},
                               "accounts", oa.WRITE_LOGIN, errors=(401, 403))}),
    (auth.me, {"get": _op("The current user, and a CSRF token for the session", {"200": _json("OK", "Me")},
                          "accounts", errors=(401,))}),
    (auth.list_tokens, {"get": _op("The caller's tokens", {"200": oa.json_response("OK", oa.items_of("ApiToken"))},
                                   "accounts", errors=(401,))}),
    (auth.revoke_token, {"delete": _op("Revoke one of the caller's tokens", {"204": oa.no_content("Revoked")},
                                       "accounts", oa.WRITE_LOGIN, errors=(401, 403, 404))}),
    (tournaments.list_tournaments, {"get": _op(
        "Tournaments, newest first", {"200": _json("A page", "TournamentPage")}, "tournaments", oa.OPTIONAL_LOGIN,
        errors=(400,), parameters=[
            oa.query_param("state", "Only this state.", {"enum": list(STATES)}),
            oa.query_param("game", "Only this game (case-insensitive).", {"type": "string", "minLength": 1,
                                                                         "maxLength": 50}),
            oa.query_param("limit", "Page size (default 20).", {"type": "integer", "minimum": 1, "maximum": 100}),
            oa.query_param("cursor", "`next_cursor` of the previous page.", {"type": "string"})])}),
    (tournaments.create_tournament, {"post": _op(
        "Create a DRAFT tournament; the caller is its organizer", {"201": _json("Created", "Tournament")},
        "tournaments", oa.WRITE_LOGIN, errors=(400, 401, 403), body=oa.json_body(oa.ref("TournamentCreate")))}),
    (tournaments.get_tournament, {"get": _op("A tournament", {"200": _json("OK", "Tournament")}, "tournaments",
                                             oa.OPTIONAL_LOGIN, errors=(404,))}),
    (tournaments.update_tournament, {"patch": _op(
        "Edit a DRAFT tournament (the organizer); an option set to null goes back to its default",
        {"200": _json("The tournament", "Tournament")}, "tournaments", oa.WRITE_LOGIN,
        errors=(400, 401, 403, 404, 409), body=oa.json_body(oa.ref("TournamentInput")))}),
    (tournaments.delete_tournament, {"delete": _op("Delete a DRAFT tournament (the organizer)",
                                                   {"204": oa.no_content("Deleted")}, "tournaments", oa.WRITE_LOGIN,
                                                   errors=(401, 403, 404, 409))}),
    (tournaments.publish, _lifecycle("Publish: DRAFT -> REGISTRATION, its server starts",
                                     "All or nothing: if the server does not start, 503 and it stays a DRAFT.")),
    (tournaments.cancel, _lifecycle("Cancel (any state before COMPLETED): its server stops",
                                    "The tournament stays readable through the gateway (read-only).")),
    (tournaments.archive, _lifecycle("Archive a COMPLETED tournament: its server stops",
                                     "The tournament stays readable through the gateway (read-only).")),
    (tournaments.list_teams, {"get": _op("Its teams (as its server lists them)",
                                         {"200": oa.json_response("OK", oa.items_of("Team"))}, "tournaments",
                                         oa.OPTIONAL_LOGIN, errors=(404, 503))}),
    (tournaments.register_team, {"post": _op(
        "Register a team (forwarded to its server; same as POST /t/{tournament_id}/api/teams)",
        {"201": _json("Registered", "Team")}, "tournaments", oa.WRITE_LOGIN,
        errors=(400, 401, 403, 404, 409, 503), body=oa.json_body(oa.ref("TeamInput")))}),
    (subscriptions.list_subscriptions, {"get": _op(
        "The caller's subscriptions", {"200": oa.json_response("OK", oa.items_of("Subscription"))},
        "subscriptions", errors=(401,))}),
    (subscriptions.subscribe, {"post": _op(
        "Follow a tournament", {"201": _json("Subscribed", "Subscription"),
                                "200": _json("Already subscribed", "Subscription")}, "subscriptions", oa.WRITE_LOGIN,
        errors=(400, 401, 403, 404), body=oa.json_body({
            "type": "object", "required": ["tournament_id"], "additionalProperties": False,
            "properties": {"tournament_id": {"type": "string", "minLength": 1, "maxLength": 40}}}))}),
    (subscriptions.unsubscribe, {"delete": _op("Stop following a tournament", {"204": oa.no_content("Done")},
                                               "subscriptions", oa.WRITE_LOGIN, errors=(401, 403, 404))}),
    (events.global_feed, {"get": _op("Announcements: tournaments published, champions, cancellations (SSE)", SSE,
                                     "feeds", oa.OPTIONAL_LOGIN, errors=(400,), parameters=LAST_EVENT_ID)}),
    (events.tournament_feed, {"get": _op("A tournament's events (SSE)", SSE, "feeds", oa.OPTIONAL_LOGIN,
                                         errors=(400, 404), parameters=LAST_EVENT_ID)}),
    (events.user_feed, {"get": _op("The caller's notifications (SSE): match ready, results, reminders", SSE,
                                   "feeds", errors=(400, 401, 403), parameters=LAST_EVENT_ID)}),
    (events.page_feed, {"get": _op(
        "One page's live stream: what changed on the feeds it shows (SSE, no replay)", SSE, "feeds",
        oa.OPTIONAL_LOGIN, errors=(400, 404), description=(
            "Frames `event: tournament|chat|global|notification` with `data: {\"seq\", \"type\"}` (or "
            "`{\"resync\": true}`): the page refetches what changed. Joins the tournament's events and chat "
            "(`tournament`), the announcements (`global=1`) and the caller's notifications (logged in)."),
        parameters=[oa.query_param("tournament", "A tournament whose events and chat the page shows.",
                                   {"type": "string", "minLength": 1, "maxLength": 40}),
                    oa.query_param("global", "1: the global announcements too.", {"enum": ["0", "1"]})])}),
    (servers.list_servers, {"get": _op(
        "The fleet: every server (admins) or those of the caller's tournaments",
        {"200": oa.json_response("OK", oa.items_of("ServerRecord", supervisor=oa.nullable({
            "type": "object",
            "properties": {"holder": {"type": ["string", "null"]}, "leader": {"type": "boolean"}}})))},
        "fleet", errors=(401,))}),
    (servers.restart, {"post": _op("Restart a FAILED server (the organizer)",
                                   {"202": _json("Accepted", "ServerRecord")}, "fleet", oa.WRITE_LOGIN,
                                   errors=(401, 403, 404, 409), body=oa.EMPTY_BODY)}),
    (health.healthz, {"get": _op("Liveness", {"200": oa.json_response("Alive", {
        "type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}})}, "operations",
        oa.NO_LOGIN)}),
    (health.readyz, {"get": _op("Readiness: the database and Redis answer", {
        "200": oa.json_response("Ready", oa.ref("Readiness")),
        "503": oa.json_response("Not ready", oa.ref("Readiness"))},
        "operations", oa.NO_LOGIN)}),
    (metrics.metrics, {"get": _op(
        "Metrics in Prometheus text format: requests, streams, the relay, the fleet", {"200": {
            "description": "The text exposition format 0.0.4",
            "content": {"text/plain": {"schema": {"type": "string"}}}}},
        "operations", [{}, {"metricsToken": []}], errors=(401,), description=(
            "Open when the deployment sets no METRICS_TOKEN (serve it on a private port), else only with "
            "`Authorization: Bearer <METRICS_TOKEN>`. All gunicorn workers' figures, added up."))}),
    (metrics.scrape_targets, {"get": _op(
        "The tournament servers to scrape, for Prometheus HTTP service discovery", {"200": oa.json_response(
            "One target group per server answering its health checks", {"type": "array", "items": {
                "type": "object", "required": ["targets", "labels"], "properties": {
                    "targets": {"type": "array", "items": {"type": "string", "description": "host:port"},
                                "minItems": 1, "maxItems": 1},
                    "labels": {"type": "object", "required": ["tournament_id"],
                               "properties": {"tournament_id": TOURNAMENT_ID}}}}})},
        "operations", [{"metricsToken": []}, {"bearerAuth": []}, {"cookieAuth": []}], errors=(401, 403),
        description="An admin, or the METRICS_TOKEN. Each server's own `/metrics` is on its private address "
                    "(the gateway never forwards it): commands and their latency, events appended, viewers, "
                    "replay time at start.")}),
    (docs.openapi_document, {"get": _op("This document (OpenAPI 3.1)", {"200": oa.json_response(
        "The document", {"type": "object", "required": ["openapi", "paths"]})}, "operations", oa.NO_LOGIN)}),
    (docs.api_docs, {"get": _op("This document, to read and try out in a browser", {"200": {
        "description": "An HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}},
        "operations", oa.NO_LOGIN)}),
]
GAME_PARAM = {**oa.query_param("game", "The game (case-insensitive).", TOURNAMENT_FIELDS["game"]),
              "required": True}
_RATING = {"rank": {"type": "integer", "minimum": 1}, "team": {"type": "string"},
           "mu": {"type": "number", "description": "The rating's mean; the board is ordered by it."},
           "sigma": {"type": "number", "description": "Its uncertainty."},
           "ordinal": {"type": "number", "description": "mu - 3 sigma, the conservative estimate."},
           "matches": {"type": "integer"}, "wins": {"type": "integer"}, "losses": {"type": "integer"},
           "draws": {"type": "integer"}, "last_played": ISO_TIME}
SCHEMAS["Rating"] = {"type": "object", "required": list(_RATING), "properties": _RATING}
SCHEMAS["LeaderboardPage"] = oa.items_of("Rating", game={"type": "string"}, next_cursor={
    "type": ["string", "null"], "description": "Pass as `?cursor=` for the next page; null on the last."})
SCHEMAS["TeamHistory"] = {"type": "object", "required": [*_RATING, "game", "history"], "properties": {
    **_RATING, "game": {"type": "string"}, "history": {"type": "array", "items": {
        "type": "object", "description": "The team's rating after one match, oldest first.",
        "required": ["tournament_id", "tournament_name", "match_id", "opponent", "result", "mu", "sigma",
                     "ordinal", "played_at"],
        "properties": {"tournament_id": TOURNAMENT_ID, "tournament_name": {"type": "string"},
                       "match_id": {"type": "string"}, "opponent": {"type": "string"},
                       "result": {"enum": ["win", "loss", "draw"]}, "mu": {"type": "number"},
                       "sigma": {"type": "number"}, "ordinal": {"type": "number"}, "played_at": ISO_TIME}}}}}
RATING_NOTE = ("Recomputed from the ended tournaments' logs: a corrected result counts as corrected. A team is "
               "its name (case-insensitive, whitespace collapsed). Draws rate as ties; byes, forfeits and "
               "abandoned matches don't rate.")
DESCRIBED += [
    (leaderboard.list_ratings, {"get": _op(
        "A game's leaderboard: teams by rating (mu), best first", {"200": _json("A page", "LeaderboardPage")},
        "leaderboard", oa.OPTIONAL_LOGIN, errors=(400,), description=RATING_NOTE, parameters=[
            GAME_PARAM,
            oa.query_param("limit", "Page size (default 50).", {"type": "integer", "minimum": 1, "maximum": 100}),
            oa.query_param("cursor", "`next_cursor` of the previous page.", {"type": "string"})])}),
    (leaderboard.list_games, {"get": _op(
        "Games with ended tournaments, most tournaments first", {"200": oa.json_response("OK", {
            "type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
                "type": "object", "required": ["game", "tournaments"],
                "properties": {"game": {"type": "string"}, "tournaments": {"type": "integer"}}}}}})},
        "leaderboard", oa.OPTIONAL_LOGIN)}),
    (leaderboard.team_history, {"get": _op(
        "A team's rating and its rating after each of its matches in a game", {"200": _json("OK", "TeamHistory")},
        "leaderboard", oa.OPTIONAL_LOGIN, errors=(400, 404), description=RATING_NOTE, parameters=[GAME_PARAM])}),
]
_AUTHOR = {"type": "object", "required": ["id", "username"], "properties": {
    "id": {"type": ["integer", "null"], "description": "null once the account is gone."}, "username": {"type": "string"}}}
SCHEMAS["ChatMessage"] = {"type": "object", "required": ["seq", "author", "body", "created_at"], "properties": {
    "seq": {"type": "integer", "minimum": 1, "description": "Its place in the chat's feed (the SSE `id:`)."},
    "author": _AUTHOR, "body": {"type": "string", "minLength": 1, "maxLength": 500},
    "created_at": ISO_TIME}}
SCHEMAS["ChatPage"] = oa.items_of("ChatMessage", next_cursor={
    "type": ["string", "null"], "description": "Pass as `?cursor=` for older messages; null on the oldest page."})
CHAT_NOTE = ("Open in REGISTRATION, ACTIVE and COMPLETED; a DRAFT's chat and an ended (ARCHIVED, CANCELLED) "
             "tournament's are read-only (409 `illegal_state`). A message is 1-500 characters once the spaces "
             "around it are taken off, without control characters (newlines and tabs are fine); a user may post "
             "a few messages per tournament in a short window (429 with Retry-After past it).")
SEQ_PARAM = oa.path_param("seq", "A message's seq.", 1, {"type": "integer", "minimum": 1})
DESCRIBED += [
    (chat.chat_history, {"get": _op(
        "A tournament's chat, newest first (deleted messages left out)", {"200": _json("A page", "ChatPage")},
        "chat", oa.OPTIONAL_LOGIN, errors=(400, 404), parameters=[
            oa.query_param("limit", "Page size (default 50).", {"type": "integer", "minimum": 1, "maximum": 100}),
            oa.query_param("cursor", "`next_cursor` of the previous page.", {"type": "string"})])}),
    (chat.post_chat_message, {"post": _op(
        "Post a message in a tournament's chat", {"201": _json("Posted", "ChatMessage")}, "chat",
        oa.WRITE_LOGIN, errors=(400, 401, 403, 404, 409, 429), description=CHAT_NOTE,
        body=oa.json_body({"type": "object", "required": ["body"], "additionalProperties": False,
                           "properties": {"body": {"type": "string", "minLength": 1, "maxLength": 500}}},
                          example={"body": "Good luck, everyone!"}))}),
    (chat.delete_chat_message, {"delete": _op(
        "Delete a chat message for everyone (the organizer, or an admin)", {"204": oa.no_content("Deleted")},
        "chat", oa.WRITE_LOGIN, errors=(401, 403, 404),
        description="Its text is removed from the stored message, and a `chat_message_deleted` event naming "
                    "it (`message_seq`) goes out on the chat's feed. Allowed in every state.")}),
    (events.tournament_chat_feed, {"get": _op(
        "A tournament's chat (SSE): `chat_message` and `chat_message_deleted` events", SSE, "feeds",
        oa.OPTIONAL_LOGIN, errors=(400, 404), parameters=LAST_EVENT_ID,
        description="A deleted message replays with `deleted: true` and no `body`.")}),
]
PATH_PARAMS["seq"] = SEQ_PARAM
SCHEMAS["Readiness"] = {"type": "object", "required": ["status", "checks"], "properties": {
    "status": {"enum": ["ready", "not_ready"]},
    "checks": {"type": "object", "additionalProperties": {"type": "string"},
               "description": "`ok`, or why not, for `database` and `redis`."}}}


def build(app):
    """The whole document as a dict: the orchestrator's routes of `app`, and the tournament servers'."""
    spec = oa.new_spec("Tournament platform", VERSION, DESCRIPTION)
    for tag in TAGS:
        spec.tag(tag)
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema)
    oa.add_paths(spec, app, DESCRIBED, PATH_PARAMS)
    tournament_openapi.describe(spec, PATH_PARAMS)
    return spec.to_dict()
