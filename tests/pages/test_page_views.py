"""The pages through Flask's test client: forms need their CSRF token, refusals are shown in words,
what users type is escaped, and the JSON API keeps its own rules."""
import html
import re
import uuid

from orchestrator.pages.tournaments import PAGE_SIZE

from tests.pages.helpers import HTML, PASSWORD, create_draft, log_in, post_form
from tests.support.rate_windows import wait_for_fresh_window


def _text(response):
    return response.get_data(as_text=True)


def test_a_page_form_without_its_csrf_token_is_refused_and_changes_nothing(client):
    log_in(client)
    before = client.get("/api/v1/tournaments").get_json()["items"]
    response = post_form(client, "/tournaments/new", {"name": "No token", "game": "chess"}, with_token=False)
    assert response.status_code == 400
    assert "CSRF" in _text(response) and response.mimetype == "text/html"
    assert client.get("/api/v1/tournaments").get_json()["items"] == before
    assert post_form(client, "/logout", {}, with_token=False).status_code == 400


def test_a_login_form_without_its_token_logs_nobody_in(client):
    username = log_in(client)
    post_form(client, "/logout", {})
    response = post_form(client, "/login", {"username": username, "password": PASSWORD}, with_token=False)
    assert response.status_code == 400
    assert client.get("/api/v1/auth/me").status_code == 401


def test_a_form_posted_from_another_site_is_refused(client):
    username = log_in(client)
    post_form(client, "/logout", {})
    response = post_form(client, "/login", {"username": username, "password": PASSWORD},
                         headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    assert client.get("/api/v1/auth/me").status_code == 401


def test_the_json_api_keeps_its_json_and_header_rules_after_a_page_login(client):
    log_in(client)
    as_form = client.post("/api/v1/tournaments", data={"name": "x", "game": "y"})
    assert as_form.status_code == 415 and as_form.get_json()["error"]["code"] == "unsupported_media_type"
    no_header = client.post("/api/v1/tournaments", json={"name": "x", "game": "y"})
    assert no_header.status_code == 403 and no_header.get_json()["error"]["code"] == "csrf_failed"
    csrf = client.get("/api/v1/auth/me").get_json()["csrf_token"]
    assert client.post("/api/v1/tournaments", json={"name": "x", "game": "y"},
                       headers={"X-CSRF-Token": csrf}).status_code == 201


def test_the_register_page_shows_the_password_policy_inline(client):
    response = post_form(client, "/register", {"username": "short-pass-user", "password": "abc"})
    assert response.status_code == 400
    page = _text(response)
    assert 'id="password-problem"' in page and 'aria-invalid="true"' in page
    assert "at least 15" in page


def test_the_form_names_what_the_api_rules_refuse_at_each_field(client):
    log_in(client)
    before = client.get("/api/v1/tournaments").get_json()["items"]
    data = {"name": "Bad", "game": "chess", "format": "group_playoff", "min_teams": "4", "max_teams": "2",
            "best_of": "2", "groups": "3"}
    response = post_form(client, "/tournaments/new", data, token_from="/tournaments/new")
    assert response.status_code == 400
    page = _text(response)
    assert 'id="best_of-problem"' in page and "must be one of 1, 3, 5, 7" in page
    # Fields first, then how they fit together: the registry's own order.
    response = post_form(client, "/tournaments/new", {**data, "best_of": "3"}, token_from="/tournaments/new")
    page = _text(response)
    assert response.status_code == 400
    assert 'id="min_teams-problem"' in page and "each of the 3 groups needs 2 teams" in page
    # Other tests of the run leave public tournaments behind: nothing new is what counts.
    assert client.get("/api/v1/tournaments").get_json()["items"] == before


def test_a_tournament_named_like_a_script_shows_as_text(client):
    log_in(client)
    name = "<script>alert(1)</script>"
    tournament_id = create_draft(client, name=name, description='<img src=x onerror="alert(2)">')
    for path in (f"/tournaments/{tournament_id}", "/tournaments", "/", f"/tournaments/{tournament_id}/edit"):
        page = _text(client.get(path, headers=HTML))
        assert html.escape(name, quote=False) in page or html.escape(name) in page, path
        assert name not in page and "<img src=x" not in page, path


def test_unknown_pages_are_html_for_browsers_and_the_envelope_for_json_clients(client):
    page = client.get("/tournaments/t_nosuchone", headers=HTML)
    assert page.status_code == 404 and page.mimetype == "text/html" and "Not found" in _text(page)
    api = client.get("/tournaments/t_nosuchone", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "tournament_not_found"
    assert client.get("/api/v1/tournaments/t_nosuchone").get_json()["error"]["code"] == "tournament_not_found"


def test_only_the_organizer_sees_the_buttons_their_state_allows(client, app):
    log_in(client)
    tournament_id = create_draft(client)
    page = _text(client.get(f"/tournaments/{tournament_id}", headers=HTML))
    for action in ("publish", "cancel", "delete"):
        assert f"/tournaments/{tournament_id}/{action}" in page
    assert f"/tournaments/{tournament_id}/archive" not in page
    other = app.test_client()
    log_in(other)
    assert other.get(f"/tournaments/{tournament_id}", headers=HTML).status_code == 404  # someone else's draft
    refused = post_form(other, f"/tournaments/{tournament_id}/delete", {})
    assert refused.status_code == 404
    assert client.get(f"/api/v1/tournaments/{tournament_id}").status_code == 200


def test_a_refused_lifecycle_action_is_a_readable_message_and_changes_nothing(client):
    log_in(client)
    tournament_id = create_draft(client)
    response = post_form(client, f"/tournaments/{tournament_id}/archive", {}, follow_redirects=True)
    assert "This tournament can&#39;t be archived now: it is DRAFT." in _text(response)
    assert client.get(f"/api/v1/tournaments/{tournament_id}").get_json()["state"] == "DRAFT"


def test_editing_a_draft_keeps_its_options_and_uses_the_same_checks(client):
    log_in(client)
    tournament_id = create_draft(client, format="swiss", swiss_rounds="4", tiebreaks="buchholz, seed")
    data = {"name": "Renamed", "game": "chess", "format": "swiss", "min_teams": "2", "max_teams": "8",
            "best_of": "3", "swiss_rounds": "5", "tiebreaks": "buchholz, seed", "points_win": "3",
            "points_draw": "1", "points_loss": "0"}
    edit = f"/tournaments/{tournament_id}/edit"
    assert post_form(client, edit, data, token_from=edit).status_code == 302
    saved = client.get(f"/api/v1/tournaments/{tournament_id}").get_json()
    assert (saved["name"], saved["best_of"], saved["swiss_rounds"], saved["tiebreaks"]) == ("Renamed", 3, 5, ["buchholz", "seed"])
    bad = post_form(client, edit, {**data, "tiebreaks": "coin_toss"}, token_from=edit)
    assert bad.status_code == 400 and "unknown tiebreaks" in _text(bad)
    assert client.get(f"/api/v1/tournaments/{tournament_id}").get_json()["tiebreaks"] == ["buchholz", "seed"]


def test_tiebreaks_are_typed_and_shown_by_their_names_or_ids(client):
    log_in(client)
    tournament_id = create_draft(client, format="swiss", swiss_rounds="4",
                                 tiebreaks="Median  buchholz, sonneborn-berger, head_to_head, SEED")
    saved = client.get(f"/api/v1/tournaments/{tournament_id}").get_json()
    assert saved["tiebreaks"] == ["median_buchholz", "sonneborn_berger", "head_to_head", "seed"]
    edit = html.unescape(_text(client.get(f"/tournaments/{tournament_id}/edit", headers=HTML)))
    assert 'value="median Buchholz, Sonneborn-Berger, head-to-head, seed"' in edit
    assert "from: head-to-head, Buchholz, median Buchholz, Sonneborn-Berger, opponents' match win %" in edit


def test_the_summary_and_the_state_are_in_words(client):
    log_in(client)
    tournament_id = create_draft(client, format="double_elimination", grand_final="single",
                                 starts_at="2031-07-04T18:30")
    page = _text(client.get(f"/tournaments/{tournament_id}", headers=HTML))
    assert '<span class="state state-draft">Draft</span>' in page
    assert re.search(r'<dt>Starts</dt><dd><time datetime="2031-07-04T18:30:00(\+00:00|Z)">4 Jul 2031, 18:30 UTC</time>', page)
    assert "<dt>Grand final</dt>\n    <dd>one match</dd>" in page
    edit = _text(client.get(f"/tournaments/{tournament_id}/edit", headers=HTML))
    assert '<option value="single" selected>one match</option>' in edit


def test_the_summary_names_tiebreaks_as_people_read_them(client):
    log_in(client)
    tournament_id = create_draft(client, format="swiss", swiss_rounds="4",
                                 tiebreaks="median_buchholz, sonneborn_berger, opponents_match_win_pct")
    page = html.unescape(_text(client.get(f"/tournaments/{tournament_id}", headers=HTML)))
    assert "<dd>median Buchholz, Sonneborn-Berger, opponents' match win %</dd>" in page
    assert "sonneborn_berger" not in page


def test_the_list_filters_by_state_and_game_and_pages_with_the_registrys_cursor(client):
    log_in(client)
    made = [create_draft(client, name=f"Cup {n}", game="go") for n in range(PAGE_SIZE + 1)]
    create_draft(client, name="Other game", game="chess")
    first = _text(client.get("/tournaments?state=DRAFT&game=go", headers=HTML))
    assert first.count('class="card"') == PAGE_SIZE and "Other game" not in first
    older = re.search(r'rel="next" href="([^"]+)"', first).group(1)
    second = _text(client.get(html.unescape(older), headers=HTML))
    assert second.count('class="card"') == 1 and f"/tournaments/{made[0]}" in second
    by_name = _text(client.get("/tournaments?q=cup 2", headers=HTML))  # "Cup 2", "Cup 20"
    assert by_name.count('class="card"') == 2 and f"/tournaments/{made[2]}" in by_name
    create_draft(client, name="100% sure_thing", game="go")
    wildcards = _text(client.get("/tournaments?q=0%25 sure_", headers=HTML))  # LIKE's wildcards as text
    assert wildcards.count('class="card"') == 1 and "100% sure_thing" in wildcards
    # "_" is a character, not LIKE's any-one-character: names without one don't match (other
    # tests' tournaments with an underscore may).
    underscores = _text(client.get("/tournaments?q=_", headers=HTML))
    assert "100% sure_thing" in underscores and f"/tournaments/{made[1]}" not in underscores
    bad = client.get("/tournaments?state=NOPE&cursor=garbage", headers=HTML)
    assert bad.status_code == 200 and 'id="state-problem"' in _text(bad) and 'id="cursor-problem"' in _text(bad)


def test_the_login_page_shows_the_rate_limit_as_a_message(platform_env):
    from orchestrator import create_app
    from orchestrator.extensions import db
    from tests.conftest import orchestrator_test_config

    namespace = f"{platform_env['REDIS_NAMESPACE']}{uuid.uuid4().hex[:8]}:"
    app = create_app(orchestrator_test_config(platform_env, AUTH_RATE_LIMIT_PER_CLIENT="2/60",
                                              REDIS_NAMESPACE=namespace))
    try:
        client = app.test_client()
        wait_for_fresh_window()
        for _ in range(2):
            assert post_form(client, "/login", {"username": "nobody-here", "password": "wrong"}).status_code == 401
        limited = post_form(client, "/login", {"username": "nobody-here", "password": "wrong"})
        assert limited.status_code == 429 and limited.mimetype == "text/html"
        assert 'role="alert"' in _text(limited) and "Too many" in _text(limited)
    finally:
        app.extensions["redis_relay"].stop()
        with app.app_context():
            db.engine.dispose()
