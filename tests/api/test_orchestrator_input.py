"""Orchestrator API: bad input gets a clear error envelope and changes nothing.

Runs the orchestrator in this process on the run's PostgreSQL database and Redis namespace, as a
logged-in user who organizes the tournaments it creates: `client` authenticates with a Bearer token
(tests/api/conftest.py bearer_client); the tests taking `cookie_client` use the session cookie and send
its X-CSRF-Token, as a browser's script would.
"""
import base64
import uuid

import pytest

from tests.api.helpers import assert_error, deep_json, ok, send

BASE = "/api/v1/tournaments"
VALID = {"name": "Input Cup", "game": "chess"}


def all_tournaments(client):
    """Every tournament in the registry, following the cursor (newest first)."""
    items, cursor = [], None
    while True:
        query = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = ok(client.get(BASE, query_string=query))
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return items


def create(client, **fields):
    return ok(send(client, "POST", BASE, {**VALID, **fields}), 201)


def get(client, tournament_id):
    return ok(client.get(f"{BASE}/{tournament_id}"))


def unknown_id():
    return "t_" + uuid.uuid4().hex[:10]


@pytest.fixture
def client(bearer_client):
    return bearer_client


def b64(text):
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


# ---- POST /api/v1/tournaments -------------------------------------------------------------------

BAD_CREATE_BODIES = [
    pytest.param({"name": 5, "game": "chess"}, ["name"], id="name-int"),
    pytest.param({"name": None, "game": "chess"}, ["name"], id="name-null"),
    pytest.param({"name": ["Cup"], "game": "chess"}, ["name"], id="name-list"),
    pytest.param({**VALID, "max_teams": "8"}, ["max_teams"], id="max_teams-str"),
    pytest.param({**VALID, "max_teams": True}, ["max_teams"], id="max_teams-bool"),
    pytest.param({**VALID, "max_teams": 8.0}, ["max_teams"], id="max_teams-float"),
    pytest.param({**VALID, "max_teams": 1}, ["max_teams"], id="max_teams-1"),
    pytest.param({**VALID, "max_teams": 1025}, ["max_teams"], id="max_teams-1025"),
    pytest.param({**VALID, "min_teams": 1}, ["min_teams"], id="min_teams-1"),
    pytest.param({**VALID, "best_of": 2}, ["best_of"], id="best_of-2"),
    pytest.param({**VALID, "best_of": "3"}, ["best_of"], id="best_of-str"),
    pytest.param({**VALID, "best_of": True}, ["best_of"], id="best_of-bool"),
    pytest.param({**VALID, "best_of": 3.0}, ["best_of"], id="best_of-float"),
    pytest.param({**VALID, "format": "poker"}, ["format"], id="format-poker"),
    pytest.param({**VALID, "format": 5}, ["format"], id="format-int"),
    pytest.param({**VALID, "format": "group_playoff", "min_teams": 3}, ["min_teams"], id="groups-too-small"),
    pytest.param({**VALID, "format": "group_playoff", "min_teams": 8, "groups": 2, "advance_per_group": 5},
                 ["advance_per_group"], id="advance-more-than-a-group-holds"),
    pytest.param({**VALID, "format": "swiss", "swiss_rounds": 0}, ["swiss_rounds"], id="swiss_rounds-0"),
    pytest.param({**VALID, "format": "swiss", "groups": 2}, ["groups"], id="groups-for-swiss"),
    pytest.param({**VALID, "grand_final": "reset"}, ["grand_final"], id="option-of-another-format"),
    pytest.param({**VALID, "format": "double_elimination", "grand_final": "twice"}, ["grand_final"],
                 id="grand_final-unknown"),
    pytest.param({**VALID, "format": "round_robin", "points": {"win": 1, "draw": 3, "loss": 0}}, ["points"],
                 id="points-draw-above-win"),
    pytest.param({**VALID, "format": "round_robin", "points": {"win": 3}}, ["points"], id="points-incomplete"),
    pytest.param({**VALID, "format": "round_robin", "tiebreaks": ["coin_toss"]}, ["tiebreaks"],
                 id="tiebreaks-unknown"),
    pytest.param({**VALID, "format": "round_robin", "tiebreaks": ["seed", "seed"]}, ["tiebreaks"],
                 id="tiebreaks-twice"),
    pytest.param({**VALID, "third_place_match": "yes"}, ["third_place_match"], id="third_place-not-bool"),
    pytest.param({**VALID, "final_best_of": 4}, ["final_best_of"], id="final_best_of-even"),
    pytest.param({**VALID, "confirm_results": 1}, ["confirm_results"], id="confirm_results-not-bool"),
    pytest.param({**VALID, "starts_at": "yesterday"}, ["starts_at"], id="starts_at-word"),
    pytest.param({**VALID, "starts_at": 1735500000}, ["starts_at"], id="starts_at-int"),
    pytest.param({**VALID, "starts_at": "2025-13-45T25:00:00Z"}, ["starts_at"], id="starts_at-impossible"),
    pytest.param({**VALID, "description": 7}, ["description"], id="description-int"),
    pytest.param({**VALID, "description": "x" * 2001}, ["description"], id="description-2001"),
    pytest.param({"game": "chess"}, ["name"], id="missing-name"),
    pytest.param({"name": "Cup"}, ["game"], id="missing-game"),
    pytest.param({}, ["name", "game"], id="empty-object"),
    pytest.param({**VALID, "color": "red"}, ["color"], id="unknown-field"),
    pytest.param({**VALID, "state": "ACTIVE"}, ["state"], id="read-only-state"),
    pytest.param({**VALID, "id": "t_mine"}, ["id"], id="read-only-id"),
    pytest.param({**VALID, "min_teams": 9, "max_teams": 8}, ["min_teams"], id="min-above-max"),
    pytest.param({**VALID, "min_teams": 17}, ["min_teams"], id="min-above-default-max"),
    pytest.param({**VALID, "name": "x" * 101}, ["name"], id="name-101"),
    pytest.param({**VALID, "name": "   "}, ["name"], id="name-blank"),
    pytest.param({**VALID, "name": ""}, ["name"], id="name-empty"),
    pytest.param({**VALID, "game": "g" * 51}, ["game"], id="game-51"),
    pytest.param({"name": 5, "game": 6, "best_of": 2, "extra": 1}, ["name", "game", "best_of", "extra"],
                 id="every-problem-at-once"),
]


@pytest.mark.parametrize("body, fields", BAD_CREATE_BODIES)
def test_create_refuses_invalid_fields_and_names_them(client, body, fields):
    before = all_tournaments(client)
    error = assert_error(send(client, "POST", BASE, body), 400, "invalid_input", fields)
    assert set(error["fields"]) == set(fields)
    assert all_tournaments(client) == before


BAD_CREATE_RAW = [
    pytest.param('{"name":', "malformed_json", id="truncated-json"),
    pytest.param("{'name': 'Cup'}", "malformed_json", id="single-quotes"),
    pytest.param(b"\xff\xfe\x00garbage", "malformed_json", id="not-utf8"),
    pytest.param('[{"name": "Cup", "game": "chess"}]', "invalid_input", id="json-array"),
    pytest.param('"Cup"', "invalid_input", id="json-string"),
    pytest.param("42", "invalid_input", id="json-number"),
    pytest.param("null", None, id="json-null"),
]


@pytest.mark.parametrize("raw, code", BAD_CREATE_RAW)
def test_create_refuses_bodies_that_are_not_json_objects(cookie_client, raw, code):
    client = cookie_client
    before = all_tournaments(client)
    assert_error(send(client, "POST", BASE, raw=raw), 400, code)
    assert all_tournaments(client) == before


def test_create_refuses_deeply_nested_json_with_a_400_not_a_500(client):
    before = all_tournaments(client)
    assert_error(send(client, "POST", BASE, raw=deep_json()), 400)
    assert all_tournaments(client) == before


def test_create_refuses_a_body_over_the_size_limit_with_413(client):
    before = all_tournaments(client)
    body = {**VALID, "description": "x" * (70 * 1024)}
    assert_error(send(client, "POST", BASE, body), 413)
    assert all_tournaments(client) == before


def test_create_refuses_nul_characters_with_a_400_not_a_500(client):
    before = all_tournaments(client)
    assert_error(send(client, "POST", BASE, {"name": "Cup\u0000", "game": "chess"}), 400, fields=["name"])
    assert all_tournaments(client) == before


def test_valid_create_at_the_boundaries_is_accepted(client):
    """The control for the refusals above: the limits themselves are accepted."""
    tournament = create(client, name="  " + "N" * 100 + "  ", game="G" * 50, max_teams=1024, min_teams=1024,
                        best_of=7, starts_at="2030-01-01T10:00:00Z", description="")
    assert tournament["name"] == "N" * 100 and tournament["state"] == "DRAFT"
    assert tournament["best_of"] == 7 and tournament["max_teams"] == 1024
    assert tournament["starts_at"] == "2030-01-01T10:00:00Z"
    assert get(client, tournament["id"]) == tournament


# ---- unknown ids --------------------------------------------------------------------------------

@pytest.mark.parametrize("method, suffix, body", [
    ("GET", "", None),
    ("PATCH", "", {"name": "Renamed"}),
    ("DELETE", "", None),
    ("POST", "/publish", None),
    ("POST", "/cancel", None),
    ("POST", "/archive", None),
    ("GET", "/teams", None),
    ("POST", "/teams", {"name": "Team"}),
])
def test_unknown_tournament_is_404(client, method, suffix, body):
    before = all_tournaments(client)
    tid = unknown_id()
    error = assert_error(send(client, method, f"{BASE}/{tid}{suffix}", body), 404, "tournament_not_found")
    assert tid in error["message"]
    assert all_tournaments(client) == before


@pytest.mark.parametrize("path", [f"{BASE}/t_%00x", f"{BASE}/t_%00x/publish", "/t/t_%00x/api/state"])
def test_nul_in_a_tournament_id_is_a_client_error_not_a_500(client, path):
    before = all_tournaments(client)
    response = client.open(path, method="POST" if path.endswith("publish") else "GET")
    assert response.status_code in (400, 404), response.get_data(as_text=True)[:500]
    assert_error(response, response.status_code)
    assert all_tournaments(client) == before


# ---- PATCH --------------------------------------------------------------------------------------

BAD_PATCHES = [
    pytest.param({"name": ""}, ["name"], id="name-empty"),
    pytest.param({"name": None}, ["name"], id="name-null"),
    pytest.param({"name": "x" * 101}, ["name"], id="name-101"),
    pytest.param({"game": 3}, ["game"], id="game-int"),
    pytest.param({"max_teams": "8"}, ["max_teams"], id="max_teams-str"),
    pytest.param({"max_teams": True}, ["max_teams"], id="max_teams-bool"),
    pytest.param({"max_teams": 4}, ["min_teams"], id="max-below-min"),
    pytest.param({"min_teams": 9}, ["min_teams"], id="min-above-max"),
    pytest.param({"best_of": 4}, ["best_of"], id="best_of-4"),
    pytest.param({"best_of": True}, ["best_of"], id="best_of-bool"),
    pytest.param({"format": "group_playoff", "groups": 4}, ["min_teams"], id="groups-need-more-teams"),
    pytest.param({"grand_final": "single"}, ["grand_final"], id="option-of-another-format"),
    pytest.param({"format": "poker"}, ["format"], id="format-poker"),
    pytest.param({"starts_at": "soon"}, ["starts_at"], id="starts_at-word"),
    pytest.param({"description": None}, ["description"], id="description-null"),
    pytest.param({"state": "ACTIVE"}, ["state"], id="state-read-only"),
    pytest.param({"endpoint": "127.0.0.1:1"}, ["endpoint"], id="endpoint-read-only"),
    pytest.param({"name": "Fine", "bogus": 1}, ["bogus"], id="valid-plus-unknown"),
    pytest.param({"name": "Fine", "max_teams": 0}, ["max_teams"], id="valid-plus-invalid"),
]


@pytest.mark.parametrize("body, fields", BAD_PATCHES)
def test_patch_refuses_invalid_fields_and_leaves_the_tournament_unchanged(cookie_client, body, fields):
    client = cookie_client
    tournament = create(client, max_teams=8, min_teams=6, starts_at="2030-05-01T12:00:00Z")
    error = assert_error(send(client, "PATCH", f"{BASE}/{tournament['id']}", body), 400, "invalid_input", fields)
    assert set(error["fields"]) == set(fields)
    assert get(client, tournament["id"]) == tournament


@pytest.mark.parametrize("raw, code", [
    pytest.param('{"name":', "malformed_json", id="truncated-json"),
    pytest.param('["name"]', "invalid_input", id="json-array"),
])
def test_patch_refuses_bodies_that_are_not_json_objects(cookie_client, raw, code):
    client = cookie_client
    tournament = create(client)
    assert_error(send(client, "PATCH", f"{BASE}/{tournament['id']}", raw=raw), 400, code)
    assert get(client, tournament["id"]) == tournament


def test_valid_patch_is_applied(cookie_client):
    """Control: the same endpoint does change a DRAFT when the input is good."""
    client = cookie_client
    tournament = create(client)
    patched = ok(send(client, "PATCH", f"{BASE}/{tournament['id']}", {"name": "  New   Name ", "best_of": 3}))
    assert patched["name"] == "New Name" and patched["best_of"] == 3
    assert get(client, tournament["id"]) == patched


# ---- actions in the wrong state -----------------------------------------------------------------

def illegal(action, state):
    return f"Can't trigger event {action} from state {state}"


def test_archive_of_a_draft_is_409_and_changes_nothing(client):
    tournament = create(client)
    error = assert_error(client.post(f"{BASE}/{tournament['id']}/archive"), 409,
                         message=illegal("archive", "DRAFT"))
    assert error["code"] == "illegal_state"
    assert get(client, tournament["id"]) == tournament


def test_registering_a_team_on_a_draft_is_409(client):
    tournament = create(client)
    assert_error(send(client, "POST", f"{BASE}/{tournament['id']}/teams", {"name": "Team"}), 409,
                 message=illegal("register_team", "DRAFT"))
    assert get(client, tournament["id"]) == tournament
    assert ok(client.get(f"{BASE}/{tournament['id']}/teams")) == {"items": []}


def test_a_cancelled_draft_refuses_every_further_action(cookie_client):
    client = cookie_client
    tournament = create(client)
    cancelled = ok(client.post(f"{BASE}/{tournament['id']}/cancel"))
    assert cancelled["state"] == "CANCELLED"
    tid = cancelled["id"]
    assert get(client, tid) == cancelled
    attempts = [
        ("PATCH", "", {"name": "Renamed"}, "edit"),
        ("DELETE", "", None, "delete"),
        ("POST", "/publish", None, "publish"),
        ("POST", "/archive", None, "archive"),
        ("POST", "/teams", {"name": "Team"}, "register_team"),
    ]
    for method, suffix, body, action in attempts:
        error = assert_error(send(client, method, f"{BASE}/{tid}{suffix}", body), 409,
                             message=illegal(action, "CANCELLED"))
        assert error["code"] == "illegal_state"
        assert error["fields"] == {"action": action, "state": "CANCELLED"}
        assert get(client, tid) == cancelled, f"{method} {suffix} changed the tournament"
    # Cancelling again is idempotent: the cancelled tournament, unchanged.
    assert ok(client.post(f"{BASE}/{tid}/cancel")) == cancelled
    assert get(client, tid) == cancelled
    # Bad input is still reported as bad input, and still changes nothing.
    assert_error(send(client, "PATCH", f"{BASE}/{tid}", {"max_teams": "x"}), 400, "invalid_input", ["max_teams"])
    assert get(client, tid) == cancelled


def test_a_published_tournament_refuses_draft_actions_and_its_server_refuses_bad_input(client):
    """Publishing spawns the tournament's real server; edit/delete/publish/archive are then 409."""
    tournament = create(client, max_teams=4)
    tid = tournament["id"]
    published = ok(client.post(f"{BASE}/{tid}/publish"))
    assert published["state"] == "REGISTRATION" and published["endpoint"] == f"/t/{tid}/"
    try:
        state_before = ok(client.get(f"/t/{tid}/api/state"))
        assert state_before["state"] == "REGISTRATION"
        for method, suffix, body, action in [("PATCH", "", {"name": "Renamed"}, "edit"),
                                             ("DELETE", "", None, "delete"),
                                             ("POST", "/publish", None, "publish"),
                                             ("POST", "/archive", None, "archive")]:
            assert_error(send(client, method, f"{BASE}/{tid}{suffix}", body), 409,
                         message=illegal(action, "REGISTRATION"))
            assert get(client, tid) == published
            assert ok(client.get(f"/t/{tid}/api/state")) == state_before
        # Bad team input, through the orchestrator and through the gateway: the server's envelope.
        assert_error(send(client, "POST", f"{BASE}/{tid}/teams", raw='{"name":'), 400, "malformed_json")
        assert_error(send(client, "POST", f"{BASE}/{tid}/teams", {"name": ""}), 400, "invalid_input", ["name"])
        assert_error(send(client, "POST", f"/t/{tid}/api/teams", {"name": 5}), 400, "invalid_input", ["name"])
        assert_error(send(client, "POST", f"/t/{tid}/api/teams", raw="[1]"), 400, "invalid_input")
        assert_error(client.get(f"/t/{tid}/api/matches?round=x"), 400, "invalid_input", ["round"])
        assert_error(client.get(f"/t/{tid}/api/nowhere"), 404)
        # Hostile bodies, forwarded by the gateway and by the orchestrator's own /teams: 400, not 500.
        for raw in ('{"name": NaN}', '{"name": "A\\ud800"}', '{"name": "A", "name": "B"}'):
            for path in (f"/t/{tid}/api/teams", f"{BASE}/{tid}/teams"):
                assert_error(send(client, "POST", path, raw=raw), 400)
        assert ok(client.get(f"/t/{tid}/api/state")) == state_before
        assert ok(client.get(f"{BASE}/{tid}/teams")) == {"items": []}
        assert get(client, tid) == published
    finally:
        assert ok(client.post(f"{BASE}/{tid}/cancel"))["state"] == "CANCELLED"


# ---- GET list -----------------------------------------------------------------------------------

@pytest.mark.parametrize("query, field", [
    ({"state": "BOGUS"}, "state"),
    ({"state": "draft"}, "state"),
    ({"state": ""}, "state"),
    ({"limit": "0"}, "limit"),
    ({"limit": "abc"}, "limit"),
    ({"limit": "101"}, "limit"),
    ({"limit": "-1"}, "limit"),
    ({"limit": "2.5"}, "limit"),
    ({"limit": ""}, "limit"),
    ({"limit": "\u00b2"}, "limit"),  # a superscript two: str.isdigit() says yes, int() says no
    ({"cursor": "garbage"}, "cursor"),
    ({"cursor": "%%%"}, "cursor"),
    ({"cursor": "\u00e9t\u00e9"}, "cursor"),
    ({"cursor": b64("[1, 2]")}, "cursor"),
    ({"cursor": b64('["not a date", "t_x"]')}, "cursor"),
    ({"cursor": b64('"abc"')}, "cursor"),
    ({"cursor": b64("{}")}, "cursor"),
    ({"cursor": b64("[]")}, "cursor"),
    ({"cursor": b64('["2025-01-01T00:00:00+00:00"]')}, "cursor"),
])
def test_list_refuses_bad_query_parameters(client, query, field):
    assert_error(client.get(BASE, query_string=query), 400, "invalid_input", [field])


def test_list_with_a_nul_in_the_game_filter_is_not_a_500(client):
    response = client.get(BASE, query_string={"game": "che\u0000ss"})
    if response.status_code == 200:
        assert response.get_json()["items"] == []
    else:
        assert_error(response, 400)


def test_pagination_returns_every_tournament_once_newest_first(client):
    game = "game-" + uuid.uuid4().hex[:12]
    created = [create(client, name=f"Paged {n}", game=game) for n in range(5)]
    pages, cursor = [], None
    while True:
        query = {"limit": 2, "game": game, **({"cursor": cursor} if cursor else {})}
        page = ok(client.get(BASE, query_string=query))
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(pages) < 10, "the cursor never ends"
    assert [len(page) for page in pages] == [2, 2, 1]
    ids = [t["id"] for page in pages for t in page]
    assert ids == [t["id"] for t in reversed(created)]
    assert [t for page in pages for t in page] == list(reversed(created))
    # The game filter ignores case; a state filter narrows it further.
    assert [t["id"] for t in ok(client.get(BASE, query_string={"game": game.upper()}))["items"]] == ids
    ok(client.post(f"{BASE}/{created[0]['id']}/cancel"))
    drafts = ok(client.get(BASE, query_string={"game": game, "state": "DRAFT"}))["items"]
    assert [t["id"] for t in drafts] == ids[:4]
    cancelled = ok(client.get(BASE, query_string={"game": game, "state": "CANCELLED"}))["items"]
    assert [t["id"] for t in cancelled] == [created[0]["id"]]
    assert ok(client.get(BASE, query_string={"game": game + "-none"})) == {"items": [], "next_cursor": None}


def test_state_filter_returns_only_that_state(client):
    create(client)
    cancelled = create(client)
    ok(client.post(f"{BASE}/{cancelled['id']}/cancel"))
    drafts = ok(client.get(BASE, query_string={"state": "DRAFT", "limit": 100}))["items"]
    assert drafts and all(t["state"] == "DRAFT" for t in drafts)
    assert cancelled["id"] not in {t["id"] for t in drafts}


# ---- SSE ----------------------------------------------------------------------------------------

def sse_error(client, path, headers=None, query=None):
    """GET an SSE endpoint that must refuse: never reads a stream it should not have opened."""
    response = client.get(path, headers=headers or {}, query_string=query or {}, buffered=False)
    try:
        assert response.status_code != 200, f"{path} opened a stream instead of refusing"
        response.get_data()  # an error body is finite
        return response
    finally:
        response.close()


def test_feed_of_an_unknown_tournament_is_404(client):
    response = sse_error(client, f"/api/v1/events/tournaments/{unknown_id()}")
    assert_error(response, 404, "tournament_not_found")


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "0x10", "1e3"])
def test_bad_last_event_id_is_400_on_the_global_feed(client, value):
    response = sse_error(client, "/api/v1/events/global", headers={"Last-Event-ID": value})
    assert_error(response, 400, "invalid_input", ["Last-Event-ID"])


@pytest.mark.parametrize("value", ["abc", "-1"])
def test_bad_last_event_id_query_is_400(client, value):
    response = sse_error(client, "/api/v1/events/global", query={"last_event_id": value})
    assert_error(response, 400, "invalid_input", ["Last-Event-ID"])


def test_bad_last_event_id_is_400_on_a_tournament_feed(client):
    tournament = create(client)
    response = sse_error(client, f"/api/v1/events/tournaments/{tournament['id']}", headers={"Last-Event-ID": "-1"})
    assert_error(response, 400, "invalid_input", ["Last-Event-ID"])


def test_a_good_last_event_id_opens_the_stream(client):
    """Control for the refusals above."""
    response = client.get("/api/v1/events/global", headers={"Last-Event-ID": "0"}, buffered=False)
    try:
        assert response.status_code == 200
        assert response.mimetype == "text/event-stream"
    finally:
        response.close()


# ---- gateway ------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST"])
def test_gateway_to_an_unknown_tournament_is_404(client, method):
    assert_error(client.open(f"/t/{unknown_id()}/api/state", method=method), 404, "tournament_not_found")


def test_gateway_to_a_draft_is_409_not_published(client):
    """A draft has no server yet: that is its state, not an outage (503 would say retry later)."""
    tournament = create(client)
    assert_error(client.get(f"/t/{tournament['id']}/api/state"), 409, "not_published")
    assert_error(send(client, "POST", f"/t/{tournament['id']}/api/teams", {"name": "Team"}), 409,
                 "not_published")
    assert get(client, tournament["id"]) == tournament


# ---- routing ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/nope", "/nope", "/api/v1/tournaments/x/y/z", "/api/v2/tournaments"])
def test_unknown_route_is_a_404_envelope(client, path):
    assert_error(client.get(path), 404, "not_found")


@pytest.mark.parametrize("method, path", [
    ("PUT", BASE), ("DELETE", BASE), ("PATCH", BASE), ("PUT", f"{BASE}/t_x"), ("GET", f"{BASE}/t_x/publish"),
    ("POST", "/api/v1/events/global"),
])
def test_wrong_method_is_a_405_envelope(cookie_client, method, path):
    client = cookie_client
    before = all_tournaments(client)
    response = send(client, method, path, {"name": "x", "game": "y"} if method != "GET" else None)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers.get("Allow")
    assert all_tournaments(client) == before


def test_format_options_are_stored_reset_and_dropped_with_their_format(cookie_client):
    client = cookie_client
    tournament = create(client, format="double_elimination", grand_final="single", final_best_of=5)
    assert (tournament["grand_final"], tournament["final_best_of"]) == ("single", 5)
    # null puts an option back to its default.
    patched = ok(send(client, "PATCH", f"{BASE}/{tournament['id']}", {"grand_final": None}))
    assert patched["grand_final"] == "reset" and patched["final_best_of"] == 5
    # A new format keeps the options it shares and drops the others.
    patched = ok(send(client, "PATCH", f"{BASE}/{tournament['id']}", {"format": "round_robin", "allow_draws": True}))
    assert "grand_final" not in patched and "final_best_of" not in patched
    assert patched["allow_draws"] is True and patched["points"] == {"win": 3, "draw": 1, "loss": 0}
    assert patched["confirm_results"] is True
    assert get(client, tournament["id"]) == patched
