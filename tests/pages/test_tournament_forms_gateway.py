"""The tournament page's forms through the orchestrator's gateway, against a real spawned server:
the gateway lets form bodies through only to the server's page forms, checks their Flask-WTF token
itself, and refuses posts from other sites; the JSON API's rules stay as they were."""
import re

import pytest

from tests.pages.helpers import HTML, create_draft, log_in, post_form

TOKEN = re.compile(r'name="form_csrf" value="([^"]+)"')


@pytest.fixture
def published(app, client):
    """A published tournament (its server really spawned) and the organizer's client; its id."""
    log_in(client)
    tournament_id = create_draft(client, max_teams="4")
    response = post_form(client, f"/tournaments/{tournament_id}/publish", {}, token_from=f"/tournaments/{tournament_id}")
    assert response.status_code == 302, response.get_data(as_text=True)
    return tournament_id


@pytest.fixture
def captain(app):
    captain = app.test_client()
    log_in(captain)
    return captain


def teams(client, tournament_id):
    return [team["name"] for team in client.get(f"/t/{tournament_id}/api/teams").get_json()["items"]]


def page_token(client, tournament_id):
    page = client.get(f"/t/{tournament_id}/", headers=HTML)
    assert page.status_code == 200
    return TOKEN.search(page.get_data(as_text=True)).group(1)


def test_a_captain_signs_up_through_the_gateway_form_and_sees_their_team(published, captain):
    token = page_token(captain, published)
    response = captain.post(f"/t/{published}/forms/signup", headers=HTML,
                            data={"name": "Fierce Dragons", "players": "Ann\nBea", "form_csrf": token})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/t/{published}/?notice=signed_up"
    page = captain.get(response.headers["Location"], headers=HTML).get_data(as_text=True)
    assert "Your team is signed up." in page and "Fierce Dragons" in page
    assert teams(captain, published) == ["Fierce Dragons"]


@pytest.mark.parametrize("token", [None, "", "not-the-token"])
def test_a_form_without_the_sessions_token_is_refused_and_changes_nothing(published, captain, token):
    page_token(captain, published)  # the session has a token; the post does not carry it
    data = {"name": "Sneaky"} if token is None else {"name": "Sneaky", "form_csrf": token}
    response = captain.post(f"/t/{published}/forms/signup", headers=HTML, data=data)
    assert response.status_code == 403
    assert "reload the page" in response.get_data(as_text=True)
    assert teams(captain, published) == []


def test_another_sessions_token_is_refused(published, captain, client):
    theirs = page_token(client, published)  # the organizer's session's token
    page_token(captain, published)
    response = captain.post(f"/t/{published}/forms/signup", headers=HTML, data={"name": "Sneaky", "form_csrf": theirs})
    assert response.status_code == 403
    assert teams(captain, published) == []


def test_a_form_posted_from_another_site_is_refused(published, captain):
    token = page_token(captain, published)
    response = captain.post(f"/t/{published}/forms/signup", data={"name": "Sneaky", "form_csrf": token},
                            headers={**HTML, "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    assert teams(captain, published) == []


def test_the_json_api_keeps_its_rules_for_form_bodies(published, captain):
    token = page_token(captain, published)
    # The server's JSON API through the gateway, and the orchestrator's own: still 415 for a form body.
    assert captain.post(f"/t/{published}/api/teams", data={"name": "X", "form_csrf": token}).status_code == 415
    assert captain.post("/api/v1/tournaments", data={"name": "X", "form_csrf": token}).status_code == 415
    assert teams(captain, published) == []



def test_an_anonymous_visitor_gets_the_page_without_forms_or_a_token(app, published):
    page = app.test_client().get(f"/t/{published}/", headers=HTML).get_data(as_text=True)
    assert "Log in to sign a team up." in page
    assert 'name="form_csrf"' not in page and "forms/signup" not in page
