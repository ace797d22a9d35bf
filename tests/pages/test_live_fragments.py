"""The orchestrator pages' live parts through Flask's test client: each page opens one stream
(the page stream of STREAM.md) with what it needs, and each part refreshes itself from a fragment
that is that very part of the page now: the notification badge, the home page's news and
tournaments, a tournament's state and organizer's panel."""
import json
import re
from datetime import datetime, timezone

import sqlalchemy as sa
from bs4 import BeautifulSoup

from orchestrator.pages.live import BADGE_CAP
from shared import events
from shared.db.tables import notifications, users
from shared.feeds import append_announcement
from tests.pages.helpers import HTML, create_draft, log_in

XSS = "<script>alert(1)</script>"


def _soup(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def _part(client, page, element_id):
    """The live part `element_id` of `page`, and the same part as its fragment answers it now."""
    part = _soup(client.get(page, headers=HTML)).find(id=element_id)
    assert part is not None, f"no #{element_id} on {page}"
    fragment = client.get(part["hx-get"], headers=HTML)
    assert fragment.headers["Cache-Control"] == "no-store"
    fragment = _soup(fragment).find(id=element_id)
    # A form token carries the second it was signed in: two renders a second apart differ there only.
    for field in part.select("input[name=form_csrf]") + fragment.select("input[name=form_csrf]"):
        assert field["value"]
        field["value"] = "(token)"
    return part, fragment


def _notify(db_engine, username, count, first_seq=1):
    with db_engine.begin() as conn:
        user_id = conn.execute(sa.select(users.c.id).where(users.c.username_key == username.lower())).scalar()
        rows = []
        for seq in range(first_seq, first_seq + count):
            event = {"type": "match_ready", "tournament_id": "t_x", "timestamp": "2026-01-01T10:00:00Z", "seq": seq}
            rows.append({"user_id": user_id, "seq": seq, "type": "match_ready", "tournament_id": "t_x",
                         "payload": json.dumps(event), "created_at": datetime.now(timezone.utc)})
        conn.execute(sa.insert(notifications), rows)


def _badge(client):
    part, fragment = _part(client, "/tournaments", "notification-badge")
    assert str(part) == str(fragment)
    assert part["hx-trigger"] == "sse:notification, live:resync from:body"
    badge = part.select_one(".badge")
    return " ".join(badge.get_text(" ").split()) if badge else None


def test_each_page_opens_one_stream_with_what_it_shows(client):
    def stream(path):
        body = _soup(client.get(path, headers=HTML)).body
        return body.get("sse-connect"), body.get("hx-ext")

    assert stream("/tournaments") == (None, None)  # nothing live for an anonymous visitor there
    assert stream("/") == ("/api/v1/events/page?global=1", "sse")
    log_in(client)
    tournament_id = create_draft(client)
    assert stream("/tournaments") == ("/api/v1/events/page", "sse")  # the badge's notifications
    assert stream(f"/tournaments/{tournament_id}") == (f"/api/v1/events/page?tournament={tournament_id}", "sse")
    scripts = [s["src"] for s in _soup(client.get("/", headers=HTML)).find_all("script")]
    assert scripts == ["/static/vendor/htmx.org-2.0.11/htmx.min.js", "/static/vendor/htmx-ext-sse-2.2.4/sse.min.js",
                       "/static/live.js"]
    for src in scripts:
        with client.get(src) as script:
            assert script.status_code == 200 and "javascript" in script.mimetype


def test_the_badge_counts_notifications_since_the_dashboard_was_opened(client, db_engine):
    name = log_in(client)
    assert _badge(client) is None
    _notify(db_engine, name, 2)
    assert _badge(client) == "2 new notifications"
    client.get("/dashboard", headers=HTML)
    assert _badge(client) is None
    _notify(db_engine, name, 1, first_seq=3)
    assert _badge(client) == "1 new notification"
    _notify(db_engine, name, BADGE_CAP + 5, first_seq=4)
    assert _badge(client) == f"{BADGE_CAP}+ new notifications"


def test_the_badge_fragment_is_empty_for_an_anonymous_visitor(client):
    response = client.get("/fragments/notification-badge", headers=HTML)
    assert response.status_code == 200 and response.get_data(as_text=True).strip() == ""


def test_the_home_page_shows_a_new_announcement_and_tournament_from_its_fragment(client, db_engine):
    log_in(client)
    tournament_id = create_draft(client, name="Harvest Cup")
    with db_engine.begin() as conn:
        append_announcement(conn, events.make_event(events.TOURNAMENT_ANNOUNCED, tournament_id,
                                                    tournament_name=XSS, game="chess", format="swiss"))
    part, fragment = _part(client, "/", "home-live")
    assert str(part) == str(fragment) and part["hx-trigger"] == "sse:global, live:resync from:body"
    news = " ".join(part.select_one(".announcements li").get_text(" ").split())
    when, said = news.split(" UTC ", 1)
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d", when), when
    assert said == f"{XSS} is open for registration (chess)"
    assert part.select_one(".announcements a")["href"] == f"/tournaments/{tournament_id}"
    assert "Harvest Cup" in part.get_text()  # the organizer's own draft, among the tournaments by state
    assert XSS not in client.get("/fragments/home").get_data(as_text=True)  # escaped


def test_a_tournament_page_refreshes_its_state_summary_and_organizers_panel(client, app):
    log_in(client)
    tournament_id = create_draft(client, name="Panel Cup")
    part, fragment = _part(client, f"/tournaments/{tournament_id}", "tournament-live")
    assert str(part) == str(fragment) and part["hx-trigger"] == "sse:tournament, live:resync from:body"
    assert part.find(id="server") is not None  # the organizer's panel
    outsider = app.test_client()
    log_in(outsider)
    # Another's draft: the fragment refuses exactly as the page does.
    assert outsider.get(f"/fragments/tournaments/{tournament_id}", headers=HTML).status_code == 404
    assert outsider.get(f"/tournaments/{tournament_id}", headers=HTML).status_code == 404
