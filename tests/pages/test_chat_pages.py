"""The chat's pages through Flask's test client, as a browser without JavaScript (plain form posts)
and as htmx (HX-Request) sends them: who sees the form and the Delete buttons, every refusal in
words with what was typed kept, and what users typed shown as text."""
import re

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from shared.db.tables import chat_messages
from tests.conftest import orchestrator_test_config
from tests.pages.helpers import HTML, log_in, post_form
from tests.support.registry import delete_registry_row, insert_registry_row
from tests.support.rate_windows import wait_for_fresh_window

XSS = "<script>alert(1)</script>"


@pytest.fixture
def make_tournament(db_engine):
    """make_tournament(organizer_id, state="REGISTRATION"): a registry row (the chat needs no server)."""
    made = []

    def make(organizer_id, state="REGISTRATION"):
        made.append(insert_registry_row(db_engine, state=state, organizer_id=organizer_id, name="Chat Cup"))
        return made[-1]
    yield make
    for tournament_id in made:
        delete_registry_row(db_engine, tournament_id)


def _me(client):
    return client.get("/api/v1/auth/me").get_json()["user"]["id"]


def _soup(response):
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def _bodies(response):
    return [p.get_text() for p in _soup(response).select(".chat-body")]


def _post(client, tournament_id, body, **extra):
    return post_form(client, f"/tournaments/{tournament_id}/chat", {"body": body, **extra},
                     token_from=f"/tournaments/{tournament_id}/chat")


def _stored(db_engine, tournament_id):
    with db_engine.connect() as conn:
        return conn.execute(sa.select(chat_messages.c.seq, chat_messages.c.body)
                            .where(chat_messages.c.tournament_id == tournament_id).order_by("seq")).all()


def test_a_visitor_reads_and_a_logged_in_user_posts_without_javascript(app, client, make_tournament, db_engine):
    log_in(client)
    tournament_id = make_tournament(_me(client))
    anonymous = app.test_client()
    page = _soup(anonymous.get(f"/tournaments/{tournament_id}/chat", headers=HTML))
    assert page.select_one("form.chat-form") is None and "Log in" in page.select_one(".chat-closed").get_text()
    assert page.select_one(".empty").get_text() == "No messages yet."

    response = _post(client, tournament_id, f"  {XSS}\r\nsecond line ")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/tournaments/{tournament_id}/chat")
    response = _post(client, tournament_id, "Back to the bracket", back="tournament")
    assert response.status_code == 302 and response.headers["Location"] == f"/t/{tournament_id}/#chat"
    shown = anonymous.get(f"/tournaments/{tournament_id}/chat", headers=HTML)
    assert _bodies(shown) == ["Back to the bracket", f"{XSS}\nsecond line"]  # newest first, as text
    assert "<script>alert" not in shown.get_data(as_text=True) and "&lt;script&gt;" in shown.get_data(as_text=True)
    assert _soup(shown).select(".chat-delete") == []  # a visitor deletes nothing


def test_refusals_are_said_on_the_page_and_keep_what_was_typed(app, client, make_tournament, db_engine):
    log_in(client)
    tournament_id = make_tournament(_me(client))
    too_long = "y" * 501
    response = _post(client, tournament_id, too_long)
    assert response.status_code == 400
    page = _soup(response)
    assert "Your message must be 1 to 500 characters" in page.select_one('.chat-panel [role="alert"]').get_text()
    assert page.select_one("#chat-body").get_text() == too_long
    assert _post(client, tournament_id, "   ").status_code == 400
    response = post_form(client, f"/tournaments/{tournament_id}/chat", {"body": "no token"}, with_token=False)
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    assert _stored(db_engine, tournament_id) == []

    archived = make_tournament(_me(client), "ARCHIVED")
    page = _soup(client.get(f"/tournaments/{archived}/chat", headers=HTML))
    assert page.select_one("form.chat-form") is None
    assert page.select_one(".chat-closed").get_text() == "The chat is read-only: the tournament is ARCHIVED."
    response = _post(client, archived, "late")  # a form left open from before
    assert response.status_code == 409
    assert "read-only: the tournament is ARCHIVED" in _soup(response).select_one('[role="alert"]').get_text()
    assert _stored(db_engine, archived) == []


@pytest.fixture
def slow_chat_app(platform_env):
    """An orchestrator whose chat takes 3 posts per user a day: a fixed window that ended mid-test
    (the default's is 10 s) would let the fourth through."""
    from orchestrator import create_app
    from orchestrator.extensions import db

    wait_for_fresh_window(86400, needed=60)
    app = create_app(orchestrator_test_config(platform_env, CHAT_RATE_LIMIT="3/86400"))
    yield app
    app.extensions["redis_relay"].stop()
    app.extensions["publisher"].close()
    app.extensions["publisher"].client.close()
    with app.app_context():
        db.engine.dispose()


def test_posting_too_fast_is_refused_in_words(slow_chat_app, make_tournament, db_engine):
    client = slow_chat_app.test_client()
    log_in(client)
    tournament_id = make_tournament(_me(client))
    limit = 3
    for n in range(limit):
        assert _post(client, tournament_id, f"quick {n}").status_code == 302
    response = _post(client, tournament_id, "one too many")
    assert response.status_code == 429
    assert "You are posting too fast" in _soup(response).select_one('[role="alert"]').get_text()
    assert len(_stored(db_engine, tournament_id)) == limit


def test_htmx_gets_the_panel_back_refusals_included(app, client, make_tournament):
    log_in(client)
    tournament_id = make_tournament(_me(client))
    token = re.search(r'name="form_csrf" value="([^"]+)"',
                      client.get(f"/tournaments/{tournament_id}/chat/panel").get_data(as_text=True)).group(1)
    htmx = {"HX-Request": "true"}
    response = client.post(f"/tournaments/{tournament_id}/chat", data={"body": "via htmx", "form_csrf": token},
                           headers=htmx)
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    assert _bodies(response) == ["via htmx"] and _soup(response).select_one("#chat-body").get_text() == ""
    response = client.post(f"/tournaments/{tournament_id}/chat", data={"body": "", "form_csrf": token}, headers=htmx)
    assert response.status_code == 200 and "must be 1 to 500" in _soup(response).select_one('[role="alert"]').get_text()
    fragment = client.get(f"/tournaments/{tournament_id}/chat/messages")
    assert _bodies(fragment) == ["via htmx"] and "<html" not in fragment.get_data(as_text=True)


def test_only_the_organizer_gets_delete_buttons_and_a_deletion_is_gone_for_everyone(app, client, make_tournament,
                                                                                     db_engine):
    log_in(client)
    tournament_id = make_tournament(_me(client))
    player = app.test_client()
    log_in(player)
    assert _post(player, tournament_id, "rude words").status_code == 302
    assert _post(player, tournament_id, "kind words").status_code == 302
    assert _soup(player.get(f"/tournaments/{tournament_id}/chat", headers=HTML)).select(".chat-delete") == []
    response = post_form(player, f"/tournaments/{tournament_id}/chat/1/delete", {},
                         token_from=f"/tournaments/{tournament_id}/chat")
    assert response.status_code == 403
    assert "Only the organizer" in _soup(response).select_one('[role="alert"]').get_text()

    page = _soup(client.get(f"/tournaments/{tournament_id}/chat", headers=HTML))
    buttons = [b.get_text(" ", strip=True) for b in page.select(".chat-delete button")]
    assert len(buttons) == 2 and buttons[1].startswith("Delete the message of") and "UTC" in buttons[1]
    response = post_form(client, f"/tournaments/{tournament_id}/chat/1/delete", {},
                         token_from=f"/tournaments/{tournament_id}/chat")
    assert response.status_code == 302
    after = client.get(response.headers["Location"], headers=HTML)
    assert "The message was deleted for everyone." in after.get_data(as_text=True)
    assert _bodies(after) == ["kind words"] and _bodies(app.test_client().get(
        f"/tournaments/{tournament_id}/chat/panel")) == ["kind words"]
    response = post_form(client, f"/tournaments/{tournament_id}/chat/1/delete", {},
                         token_from=f"/tournaments/{tournament_id}/chat")
    assert response.status_code == 404 and "deleted already" in response.get_data(as_text=True)
    assert _stored(db_engine, tournament_id)[0] == (1, None)


def test_the_chat_of_an_unknown_tournament_or_anothers_draft_is_a_404_page(app, client, make_tournament):
    log_in(client)
    draft = make_tournament(_me(client), "DRAFT")
    stranger = app.test_client()
    for path in ("/tournaments/t_nosuchthing/chat", f"/tournaments/{draft}/chat", f"/tournaments/{draft}/chat/panel"):
        response = stranger.get(path, headers=HTML)
        assert response.status_code == 404 and response.mimetype == "text/html", path
    own = _soup(client.get(f"/tournaments/{draft}/chat", headers=HTML))
    assert own.select_one(".chat-closed").get_text() == "The chat is not open yet: the tournament is a DRAFT."
