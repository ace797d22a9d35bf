"""The tournament page's forms, posted to its server as the gateway forwards them (a form body,
a signed identity): signup and check-in while registering, then the results form, through the same
commands as the JSON API. Each refusal is the page with the server's message, changing nothing.

The gateway's part (the form's CSRF token, cross-site posts) is tested in tests/pages/test_tournament_forms_gateway.py.
"""
from datetime import datetime, timedelta, timezone
from urllib.parse import urljoin

import pytest
from bs4 import BeautifulSoup

from shared.identity import sign
from tests.api.helpers import ORGANIZER, ok, send
from tests.conftest import GATEWAY_SECRET
from tournament_service import pages
from tournament_service.page_forms import time_left
from tournament_service.permissions import ANONYMOUS

XSS = "<script>alert(1)</script>"
ALICE = {"id": 501, "username": "alice"}
BOB = {"id": 502, "username": "bob"}
STRANGER = {"id": 503, "username": "stranger"}


def as_user(client, user, roles=()):
    """`client` now posts as `user` (SigningClient signs each write for them)."""
    client.identity = (user, list(roles))
    return client


def page(client, user=None, roles=(), query=""):
    """The page as the gateway forwards it for `user` (a signed GET carrying a form token); parsed."""
    tournament_id = client.application.config["TOURNAMENT_ID"]
    headers = sign(GATEWAY_SECRET, tournament_id, "GET", "/", user, roles, form_token="tok-1") if user else {}
    response = client.get("/" + query, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def text(node):
    return " ".join(node.get_text(" ").split()) if node else ""


def two_captains(make_server, **row):
    """A started 2-team tournament whose teams Alice and Bob captain; (client, match, team ids)."""
    client = make_server(max_teams=4, **row)
    ids = [ok(send(client, "POST", "/api/teams", {"name": name, "captain": user["id"]}), 201)["id"]
           for name, user in ((XSS, ALICE), ("Bobcats", BOB))]
    ok(send(client, "POST", "/api/start", {}))
    match = ok(client.get("/api/matches"))["items"][0]
    return client, match, ids


def test_a_captain_signs_up_through_the_form_and_sees_their_team(make_server):
    client = as_user(make_server(max_teams=4), ALICE)
    soup = page(client, ALICE)
    form = soup.select_one('form[action="forms/signup"]')
    assert form.select_one('input[name="form_csrf"]')["value"] == "tok-1"  # the token the gateway signed
    response = client.post("/forms/signup", data={"name": "Fierce Dragons", "players": "Ann\n\nBea\n", "form_csrf": "x"})
    assert response.status_code == 303 and response.headers["Location"] == "/?notice=signed_up"
    team = ok(client.get("/api/teams"))["items"][0]
    assert (team["name"], team["players"], team["captain"]) == ("Fierce Dragons", ["Ann", "Bea"], ALICE["id"])
    soup = page(client, ALICE, query="?notice=signed_up")
    assert "Your team is signed up." in text(soup.select_one("#notice"))
    assert "Fierce Dragons" in text(soup.select_one(".team-list"))


def test_a_refused_signup_is_the_page_with_the_apis_message_and_changes_nothing(make_server):
    client = as_user(make_server(max_teams=4), ALICE)
    response = client.post("/forms/signup", data={"name": "x" * 51})
    assert response.status_code == 400
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert "must be 1 to 50 characters" in text(soup.select_one("#refusal"))
    assert ok(client.get("/api/teams"))["items"] == []


def test_anonymous_viewers_get_no_forms_and_unsigned_posts_are_refused(make_server):
    client = make_server(max_teams=4)
    assert not page(client).select("form[method=post]")
    client.identity = None
    assert client.post("/forms/signup", data={"name": "Sneaky"}).status_code == 401
    assert ok(client.get("/api/teams"))["items"] == []


def test_check_in_is_offered_to_the_captain_until_done(make_server):
    client = as_user(make_server(max_teams=4, options={"check_in": True}), ALICE)
    client.post("/forms/signup", data={"name": "Dragons"})
    team_id = ok(client.get("/api/teams"))["items"][0]["id"]
    action = f"forms/teams/{team_id}/check-in"
    assert page(client, ALICE).select_one(f'form[action="{action}"]')
    assert not page(client, BOB).select_one(f'form[action="{action}"]')  # not Bob's team
    response = client.post("/" + action, data={})
    assert response.headers["Location"] == "/?notice=checked_in"
    assert ok(client.get("/api/teams"))["items"][0]["checked_in"] is True
    assert not page(client, ALICE).select_one(f'form[action="{action}"]')


def test_a_captain_reports_and_the_opponent_confirms_through_the_results_form(make_server):
    client, match, (alices, bobs) = two_captains(make_server, best_of=3)
    action = f"forms/matches/{match['id']}/result"
    alice_page = page(client, ALICE)
    assert alice_page.select_one(f'form[action="{action}"]')  # her own match, with the report form
    assert "Best of 3" in text(alice_page.select_one("#results"))
    response = as_user(client, ALICE).post("/" + action, data={"winner": alices, "score1": "2", "score2": "1"})
    assert response.headers["Location"] == "/?notice=reported"
    assert ok(client.get("/api/matches"))["items"][0]["status"] == "reported"
    assert "waiting for the other captain" in text(page(client, ALICE).select_one("#results"))
    bob_page = page(client, BOB)
    confirm = bob_page.select_one(f'form[action="{action}"] input[name="winner"][type="hidden"]')
    assert confirm["value"] == alices
    response = as_user(client, BOB).post("/" + action, data={"winner": alices, "score1": "2", "score2": "1"})
    assert response.headers["Location"] == "/?notice=recorded"
    assert ok(client.get("/api/state"))["champion"] == alices  # the final is decided: Alice's team won


def test_a_score_that_does_not_fit_the_best_of_is_a_message_and_changes_nothing(make_server, db_engine):
    client, match, (alices, _bobs) = two_captains(make_server, best_of=3)
    before = ok(client.get("/api/matches"))["items"]
    response = as_user(client, ALICE).post(f"/forms/matches/{match['id']}/result",
                                           data={"winner": alices, "score1": "3", "score2": "0"})
    assert response.status_code == 400
    refusal = text(BeautifulSoup(response.get_data(as_text=True), "html.parser").select_one("#refusal"))
    assert "best-of-3" in refusal
    bad = as_user(client, ALICE).post(f"/forms/matches/{match['id']}/result",
                                      data={"winner": alices, "score1": "two", "score2": "0"})
    assert bad.status_code == 400 and "whole numbers" in bad.get_data(as_text=True)
    assert ok(client.get("/api/matches"))["items"] == before


def test_a_non_captain_sees_no_report_form_and_is_refused_by_the_command(make_server):
    client, match, (alices, _bobs) = two_captains(make_server)
    assert not page(client, STRANGER).select("#results form")
    response = as_user(client, STRANGER).post(f"/forms/matches/{match['id']}/result", data={"winner": alices})
    assert response.status_code == 403
    assert "Only the organizer or the team" in response.get_data(as_text=True)
    assert ok(client.get("/api/matches"))["items"][0]["status"] == "pending"


def test_the_organizer_sees_every_playable_match_and_settles_a_dispute(make_server):
    client, match, (alices, bobs) = two_captains(make_server)
    action = f"/forms/matches/{match['id']}/result"
    as_user(client, ALICE).post(action, data={"winner": alices})
    as_user(client, BOB).post(action, data={"winner": bobs})
    assert "organizer decides" in text(page(client, ALICE).select_one("#results"))
    organizer_view = page(client, ORGANIZER, ["organizer"])
    assert "Decide the result" in text(organizer_view.select_one("#results"))
    response = as_user(client, ORGANIZER, ["organizer"]).post(action, data={"winner": bobs})
    assert response.headers["Location"] == "/?notice=recorded"
    assert ok(client.get("/api/state"))["champion"] == bobs


def test_a_script_named_team_shows_as_text_in_the_forms(make_server):
    client, _match, _ids = two_captains(make_server)
    response = client.get("/", headers=sign(GATEWAY_SECRET, client.application.config["TOURNAMENT_ID"], "GET", "/",
                                            ALICE, (), form_token='"><b>'))
    html = response.get_data(as_text=True)
    assert XSS not in html and "<b>" not in html
    soup = BeautifulSoup(html, "html.parser")
    assert XSS in text(soup.select_one("#results"))


def test_only_the_organizer_gets_the_start_button_and_it_starts_through_the_command(make_server):
    client = as_user(make_server(max_teams=4), ALICE)
    client.post("/forms/signup", data={"name": "Dragons"})
    assert not page(client, ALICE).select_one('form[action="forms/start"]')
    assert client.post("/forms/start", data={}).status_code == 403  # Alice is no organizer
    assert page(client, ORGANIZER, ["organizer"]).select_one('form[action="forms/start"]')
    refused = as_user(client, ORGANIZER, ["organizer"]).post("/forms/start", data={})
    assert refused.status_code == 409
    assert BeautifulSoup(refused.get_data(as_text=True), "html.parser").select_one("#refusal")
    assert ok(client.get("/api/state"))["state"] == "REGISTRATION"  # one team is not enough
    client.post("/forms/signup", data={"name": "Bobcats"})
    assert client.post("/forms/start", data={}).headers["Location"] == "/?notice=started"
    assert ok(client.get("/api/state"))["state"] == "ACTIVE"


# ---- the results form's script (static/results.js): the section alone, at the post's status ---------

FRAGMENT = {"X-Fragment": "results"}


def fragment(response, status):
    """The results section a fragment answer holds (asserting `status` and that it is no page)."""
    html = response.get_data(as_text=True)
    assert response.status_code == status, html[:500]
    assert response.headers["Content-Type"].startswith("text/html") and "<html" not in html
    assert "X-Fragment" in response.headers["Vary"]
    return BeautifulSoup(html, "html.parser").select_one("section#results")


def test_the_script_gets_the_section_with_the_new_state_when_a_result_is_accepted(make_server):
    client, match, (alices, bobs) = two_captains(make_server, best_of=3)
    action = f"/forms/matches/{match['id']}/result"
    reported = fragment(as_user(client, ALICE).post(action, data={"winner": alices, "score1": "2", "score2": "1"},
                                                    headers=FRAGMENT), 200)
    assert (reported["data-state"], reported["data-notice"]) == ("ACTIVE", "reported")
    assert "Your result is reported" in text(reported.select_one("#results-status"))
    assert "waiting for the other captain" in text(reported.select_one(f"#result-{match['id']}"))
    assert ok(client.get("/api/matches"))["items"][0]["status"] == "reported"
    # Bob's confirmation decides the final: the section says the tournament is over (the script
    # then loads the whole page, champion and all).
    done = fragment(as_user(client, BOB).post(action, data={"winner": alices, "score1": "2", "score2": "1"},
                                              headers=FRAGMENT), 200)
    assert (done["data-state"], done["data-notice"]) == ("COMPLETED", "recorded")
    assert ok(client.get("/api/state"))["champion"] == alices


def test_a_refused_result_is_the_section_with_the_servers_message_at_its_status(make_server):
    client, match, (alices, bobs) = two_captains(make_server, best_of=3)
    action = f"/forms/matches/{match['id']}/result"
    before = ok(client.get("/api/matches"))["items"]
    bad = fragment(as_user(client, ALICE).post(action, data={"winner": alices, "score1": "3", "score2": "0"},
                                               headers=FRAGMENT), 400)
    assert "best-of-3" in text(bad.select_one("[data-refusal]"))
    # The match as it still is; its form's URL is relative to the page it goes into, not to the post's.
    assert bad.select_one(f'#result-{match["id"]} form[data-best-of="3"]')["action"] == action.lstrip("/")
    stranger = fragment(as_user(client, STRANGER).post(action, data={"winner": alices}, headers=FRAGMENT), 403)
    assert "Only the organizer or the team" in text(stranger.select_one("[data-refusal]"))
    assert ok(client.get("/api/matches"))["items"] == before
    # The organizer decides the final while Alice's page still offers her report: refused, 409.
    as_user(client, ORGANIZER, ["organizer"]).post(action, data={"winner": bobs})
    late = fragment(as_user(client, ALICE).post(action, data={"winner": alices}, headers=FRAGMENT), 409)
    assert text(late.select_one("[data-refusal]")) == (
        "The tournament is completed now: record result is not possible.")
    assert ok(client.get("/api/state"))["champion"] == bobs


def test_the_page_answers_the_section_alone_when_the_script_refreshes_it(make_server):
    client, match, (alices, _bobs) = two_captains(make_server)
    tournament_id = client.application.config["TOURNAMENT_ID"]
    signed = sign(GATEWAY_SECRET, tournament_id, "GET", "/", ALICE, (), form_token="tok-1")
    section = fragment(client.get("/", headers={**signed, **FRAGMENT}), 200)
    assert section.select_one(f'#result-{match["id"]} form input[name="form_csrf"]')["value"] == "tok-1"
    assert not section.select_one("[data-refusal]") and not text(section.select_one("#results-status"))
    whole = client.get("/", headers=sign(GATEWAY_SECRET, tournament_id, "GET", "/", ALICE, (), form_token="tok-1"))
    assert "<html" in whole.get_data(as_text=True) and "X-Fragment" in whole.headers["Vary"]
    as_user(client, ORGANIZER, ["organizer"]).post(f"/forms/matches/{match['id']}/result", data={"winner": alices})
    over = fragment(client.get("/", headers={**sign(GATEWAY_SECRET, tournament_id, "GET", "/", ALICE, ()),
                                             **FRAGMENT}), 200)
    assert over["data-state"] == "COMPLETED" and not over.select("form")


def test_a_refused_post_without_the_script_is_the_page_with_links_back_to_its_own_directory(make_server):
    client, match, (alices, _bobs) = two_captains(make_server, best_of=3)
    path = f"/forms/matches/{match['id']}/result"
    response = as_user(client, ALICE).post(path, data={"winner": alices, "score1": "3", "score2": "0"})
    assert response.status_code == 400
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    # Rendered at the form's URL, the page's relative links climb back to the page's directory.
    assert urljoin(path, soup.select_one('link[rel="stylesheet"]')["href"]) == "/static/bracket.css"
    assert urljoin(path, soup.select_one("#results form")["action"]) == path
    assert all(urljoin(path, s["src"]).startswith("/static/") for s in soup.find_all("script"))
    # The page rendered to be shown at / from another URL (the final snapshot's /api/pages) keeps
    # its links relative to /.
    with client.application.test_request_context("/api/pages"):
        html = pages.page_html(client.application.extensions["tournament_server"].tournament, ANONYMOUS, None)
    assert BeautifulSoup(html, "html.parser").select_one('link[rel="stylesheet"]')["href"] == "static/bracket.css"


# ---- the check-in banner -----------------------------------------------------------------------------

def test_the_check_in_banner_counts_down_to_the_announced_start_and_holds_the_captains_button(make_server):
    starts_at = datetime.now(timezone.utc) + timedelta(hours=1, minutes=30, seconds=30)
    client = as_user(make_server(max_teams=4, options={"check_in": True}, starts_at=starts_at), ALICE)
    client.post("/forms/signup", data={"name": "Dragons"})
    team_id = ok(client.get("/api/teams"))["items"][0]["id"]
    banner = page(client, ALICE).select_one("#check-in")
    assert "open until the organizer starts the tournament" in text(banner)
    clock = banner.select_one("time[data-countdown]")
    assert datetime.fromisoformat(clock["datetime"].replace("Z", "+00:00")) == starts_at  # the instant, in UTC
    assert text(clock) in ("in 1 h 30 min", "in 1 h 29 min")  # right without JavaScript too
    assert "0 of 1 team checked in" in text(banner)
    assert banner.select_one(f'form[action="forms/teams/{team_id}/check-in"]')  # her button, in the banner
    assert not page(client, BOB).select_one("#check-in form")  # not Bob's team
    client.post(f"/forms/teams/{team_id}/check-in", data={})
    banner = page(client, ALICE).select_one("#check-in")
    assert not banner.select_one("form") and "Dragons is checked in." in text(banner)
    assert "1 of 1 team checked in" in text(banner)


def test_the_check_in_banner_says_what_is_true_without_or_past_an_announced_start(make_server):
    client = as_user(make_server(max_teams=4, options={"check_in": True}), ALICE)
    banner = page(client, ALICE).select_one("#check-in")
    assert "open until the organizer starts the tournament" in text(banner) and not banner.select_one("time")
    past = make_server(max_teams=4, options={"check_in": True},
                       starts_at=datetime.now(timezone.utc) - timedelta(hours=2))
    banner = page(past).select_one("#check-in")
    assert "has passed: the organizer starts the tournament when ready" in text(banner)
    assert not banner.select_one("time[data-countdown]")
    assert not page(make_server(max_teams=4, starts_at=datetime.now(timezone.utc) + timedelta(hours=1))).select_one(
        "#check-in")  # no check-in, no banner


@pytest.mark.parametrize("seconds, words", [
    (30, "less than a minute"), (4 * 60 + 59, "4 min"), (3600 + 5 * 60, "1 h 05 min"),
    (2 * 86400 + 3 * 3600 + 59, "2 days 3 h"), (86400, "1 day 0 h"),
])
def test_time_left_in_words(seconds, words):
    assert time_left(seconds) == words
