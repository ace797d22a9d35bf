"""The home page's view of the platform: tournaments by published state and how many servers run
or have failed, counted from the registry and the fleet records."""
import re

import sqlalchemy as sa
from bs4 import BeautifulSoup

from shared.db.tables import tournaments
from tests.pages.helpers import HTML, create_draft, log_in
from tests.pages.test_organizer_pages import _served_without_a_process


def _counts(client):
    """{label: number} of the home page's counts, e.g. {"Servers running": 3, "Completed": 1}."""
    soup = BeautifulSoup(client.get("/", headers=HTML).get_data(as_text=True), "html.parser")
    items = [" ".join(li.get_text().split()) for li in soup.select(".platform .counts li")]
    return {label: int(n) for label, n in (re.fullmatch(r"(.+): (\d+)", item).groups() for item in items)}


def test_the_home_page_counts_tournaments_by_state_and_servers_running_or_failed(client, app, db_engine):
    log_in(client)
    anonymous = app.test_client()
    before = _counts(anonymous)
    assert {"Servers running", "Servers failed", "Open for registration", "Archived"} <= set(before)
    assert "Drafts" not in before  # a draft is its organizer's alone
    running, failed = create_draft(client), create_draft(client)
    create_draft(client)  # a draft: counted nowhere
    _served_without_a_process(db_engine, running, "RUNNING")
    _served_without_a_process(db_engine, failed, "FAILED")
    with db_engine.begin() as conn:
        conn.execute(sa.update(tournaments).where(tournaments.c.id == failed).values(state="ACTIVE"))
    after = _counts(anonymous)
    assert after["Servers running"] == before["Servers running"] + 1
    assert after["Servers failed"] == before["Servers failed"] + 1
    assert after["Open for registration"] == before["Open for registration"] + 1
    assert after["Being played"] == before["Being played"] + 1
    assert after == _counts(client)  # the same for everyone
    unchanged = {k: v for k, v in after.items() if k not in ("Servers running", "Servers failed",
                                                              "Open for registration", "Being played")}
    assert unchanged == {k: v for k, v in before.items() if k in unchanged}


def test_a_home_page_with_only_ended_tournaments_says_so_and_links_them(app):
    """Rendered from a made-up context: the run's database always holds other tests' tournaments."""
    from flask import render_template

    def rendered(by_state):
        with app.test_request_context("/"):
            page = render_template("_home_live.html", sections=[], announcements=[], by_state=by_state,
                                   running=0, failed=0)
        return " ".join(BeautifulSoup(page, "html.parser").get_text().split())

    ended = rendered({"CANCELLED": 14, "ARCHIVED": 2})
    assert "No tournament is open, being played or just completed now: all tournaments." in ended
    assert "No tournaments yet" not in ended
    assert "No tournaments yet." in rendered({})
