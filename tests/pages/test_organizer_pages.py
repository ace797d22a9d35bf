"""The organizer's panel, the dashboard, the fleet board and the not-started page through Flask's
test client: who sees what, refusals in words, user text escaped, and writes that go through the
same services (and the same signed server commands) as the API."""
import json
from datetime import datetime, timezone

import sqlalchemy as sa

from shared.db.tables import notifications, tournament_servers, tournaments, users
from tests.pages.helpers import HTML, create_draft, log_in, post_form

XSS = "<script>alert(1)</script>"


def _text(response):
    return response.get_data(as_text=True)


def _page(client, tournament_id):
    return _text(client.get(f"/tournaments/{tournament_id}", headers=HTML))


def _served_without_a_process(db_engine, tournament_id, status, last_error=None):
    """A published-looking tournament whose server record says `status` (no process is started:
    the pages only read the record)."""
    now = datetime.now(timezone.utc)
    with db_engine.begin() as conn:
        conn.execute(sa.update(tournaments).where(tournaments.c.id == tournament_id).values(state="REGISTRATION"))
        conn.execute(sa.insert(tournament_servers).values(
            tournament_id=tournament_id, status=status, host="127.0.0.1", port=1, pid=None, restarts=3,
            failure_times="[]", health_failures=0, started_at=now, last_error=last_error))


def test_restart_is_offered_only_when_failed_and_refused_in_words_otherwise(client, app, db_engine):
    log_in(client)
    tournament_id = create_draft(client)
    _served_without_a_process(db_engine, tournament_id, "RUNNING")
    page = _page(client, tournament_id)
    assert "RUNNING" in page and "Restarts" in page and f"/tournaments/{tournament_id}/restart" not in page
    refused = post_form(client, f"/tournaments/{tournament_id}/restart", {}, follow_redirects=True)
    assert "while it is RUNNING: only a FAILED server waits for a restart." in _text(refused)
    with db_engine.begin() as conn:
        conn.execute(sa.update(tournament_servers).where(tournament_servers.c.tournament_id == tournament_id)
                     .values(status="FAILED", last_error=XSS))
    page = _page(client, tournament_id)
    assert f"/tournaments/{tournament_id}/restart" in page
    assert XSS not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    other = app.test_client()
    log_in(other)
    assert f"/tournaments/{tournament_id}/restart" not in _page(other, tournament_id)
    assert post_form(other, f"/tournaments/{tournament_id}/restart", {}).status_code == 403
    done = post_form(client, f"/tournaments/{tournament_id}/restart", {}, follow_redirects=True)
    assert "The server will be started again" in _text(done)
    with db_engine.connect() as conn:
        assert conn.execute(sa.select(tournament_servers.c.status).where(
            tournament_servers.c.tournament_id == tournament_id)).scalar() == "BACKOFF"


def test_subscribe_and_unsubscribe_round_trip(client, app, db_engine):
    log_in(client)
    tournament_id = create_draft(client, name=XSS)
    _served_without_a_process(db_engine, tournament_id, "RUNNING")
    follower = app.test_client()
    log_in(follower)
    page = _page(follower, tournament_id)
    assert "Subscribe" in page and "Server" not in page and "Dispute queue" not in page
    post_form(follower, f"/tournaments/{tournament_id}/subscribe", {})
    assert [s["tournament_id"] for s in follower.get("/api/v1/subscriptions").get_json()["items"]] == [tournament_id]
    assert "Unsubscribe" in _page(follower, tournament_id)
    dashboard = _text(follower.get("/dashboard", headers=HTML))
    assert f"/tournaments/{tournament_id}" in dashboard and XSS not in dashboard
    post_form(follower, f"/tournaments/{tournament_id}/unsubscribe", {})
    assert follower.get("/api/v1/subscriptions").get_json()["items"] == []
    again = post_form(follower, f"/tournaments/{tournament_id}/unsubscribe", {}, follow_redirects=True)
    assert f"You are not subscribed to &#39;{tournament_id}&#39;." in _text(again)


def test_the_fleet_board_is_for_admins_only(client, app, db_engine):
    log_in(client)
    tournament_id = create_draft(client)
    _served_without_a_process(db_engine, tournament_id, "FAILED", last_error=XSS)
    assert client.get("/fleet", headers=HTML).status_code == 403
    assert app.test_client().get("/fleet", headers=HTML).status_code == 302  # anonymous: the login page
    admin = app.test_client()
    name = log_in(admin)
    with db_engine.begin() as conn:
        conn.execute(sa.update(users).where(users.c.username_key == name.lower()).values(is_admin=True))
    board = admin.get("/fleet", headers=HTML)
    page = _text(board)
    assert board.status_code == 200 and tournament_id in page and "FAILED" in page
    assert XSS not in page and "&lt;script&gt;" in page


def test_the_dashboard_lists_my_tournaments_and_notifications_newest_first(client, db_engine):
    name = log_in(client)
    tournament_id = create_draft(client, name="Autumn Cup")
    with db_engine.begin() as conn:
        user_id = conn.execute(sa.select(users.c.id).where(users.c.username_key == name.lower())).scalar()
        for seq, title in ((1, "Older Cup"), (2, XSS)):
            event = {"type": "tournament_starting", "tournament_name": title, "starts_in_minutes": 5,
                     "timestamp": f"2026-01-0{seq}T10:00:00Z", "seq": seq}
            conn.execute(sa.insert(notifications).values(user_id=user_id, seq=seq, type="tournament_starting",
                                                         payload=json.dumps(event), created_at=datetime.now(timezone.utc)))
    page = _text(client.get("/dashboard", headers=HTML))
    assert "Autumn Cup" in page and f"/tournaments/{tournament_id}" in page
    assert XSS not in page and page.index("&lt;script&gt;") < page.index("Older Cup")
    assert '<time datetime="2026-01-01T10:00:00Z">1 Jan 2026, 10:00 UTC</time>' in page


def test_a_drafts_own_pages_say_not_started_to_browsers_and_json_to_clients(client):
    log_in(client)
    tournament_id = create_draft(client)
    page = client.get(f"/t/{tournament_id}/", headers=HTML)
    assert page.status_code == 409 and page.mimetype == "text/html"
    assert "has not been published yet" in _text(page)
    as_json = client.get(f"/t/{tournament_id}/")
    assert as_json.status_code == 409 and as_json.get_json()["error"]["code"] == "not_published"


class _Answer:
    """A gateway answer read and closed at once (it is streamed: left open, its context lingers)."""

    def __init__(self, response):
        self.status_code, self.text = response.status_code, response.get_data(as_text=True)
        response.close()

    def get_json(self):
        return json.loads(self.text)


def _json_post(client, path, body=None):
    csrf = client.get("/api/v1/auth/me").get_json()["csrf_token"]
    return _Answer(client.post(path, json=body or {}, headers={"X-CSRF-Token": csrf}))


def test_a_dispute_reaches_only_the_organizers_queue_and_is_decided_there(client, app):
    """A real tournament server: two captains report different winners; the organizer's page shows
    both reports side by side and its decision form settles the match through the server."""
    log_in(client)
    tournament_id = create_draft(client, name="Dispute Cup", max_teams="2")
    assert post_form(client, f"/tournaments/{tournament_id}/publish", {}).status_code == 302
    captains = []
    for team in (XSS, "Blue"):
        captain = app.test_client()
        log_in(captain)
        created = _json_post(captain, f"/t/{tournament_id}/api/teams", {"name": team})
        assert created.status_code == 201, created.text
        captains.append((captain, created.get_json()["id"]))
    page = _page(client, tournament_id)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and XSS not in page and "RUNNING" in page
    assert _json_post(client, f"/t/{tournament_id}/api/start").status_code == 200
    match = _Answer(client.get(f"/t/{tournament_id}/api/matches")).get_json()["items"][0]
    for captain, team_id in captains:
        reported = _json_post(captain, f"/t/{tournament_id}/api/matches/{match['id']}/result", {"winner": team_id})
        assert reported.status_code == 200, reported.text
    page = _page(client, tournament_id)
    queue = page[page.index("Dispute queue"):]
    assert match["id"] in queue and "Blue says" in queue and "&lt;/script&gt; says" in queue
    assert "Winner: Blue" in queue and "Winner: &lt;script&gt;" in queue  # both reports, side by side
    assert f"/tournaments/{tournament_id}/matches/{match['id']}/decide" in page
    app.config["PAGES_OVERDUE_MINUTES"] = 60
    assert "Every playable match is within 60 minutes" in _page(client, tournament_id)
    app.config["PAGES_OVERDUE_MINUTES"] = 0
    overdue = _page(client, tournament_id)
    assert "disputed for 0 min" in overdue[overdue.index("No result after 0 minutes"):]
    outsider = captains[0][0]
    assert "Dispute queue" not in _page(outsider, tournament_id)
    assert post_form(outsider, f"/tournaments/{tournament_id}/matches/{match['id']}/decide",
                     {"winner": captains[0][1]}).status_code == 403
    refused = post_form(client, f"/tournaments/{tournament_id}/matches/{match['id']}/decide",
                        {"winner": "team_99"}, follow_redirects=True)
    assert "The winner must be one of the match" in _text(refused)
    decided = post_form(client, f"/tournaments/{tournament_id}/matches/{match['id']}/decide",
                        {"winner": captains[1][1], "score1": "", "score2": ""}, follow_redirects=True)
    assert f"The result of {match['id']} is decided." in _text(decided)
    assert client.get(f"/api/v1/tournaments/{tournament_id}").get_json()["champion"]["name"] == "Blue"
