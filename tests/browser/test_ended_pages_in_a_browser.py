"""Archived and cancelled tournaments' pages in a real Chromium: their servers have stopped, and the
page, its round tabs, its stylesheet and the venue view come from the final snapshot; each passes
axe-core and is screenshotted."""
import json

import sqlalchemy as sa

from shared.db.tables import tournaments
from tests.browser.conftest import check_page
from tests.browser.test_dashboard_in_a_browser import _api_post
from tests.browser.test_pages_in_a_browser import _register_and_log_in


def _tournament(page, name, teams, **fields):
    """An ACTIVE tournament with `teams` teams, made through the API as `page`'s user; its id."""
    body = {"name": name, "game": "chess", "max_teams": teams, "min_teams": 2, **fields}
    tid = _api_post(page, "/api/v1/tournaments", body)["id"]
    _api_post(page, f"/api/v1/tournaments/{tid}/publish")
    for number in range(1, teams + 1):
        _api_post(page, f"/t/{tid}/api/teams", {"name": f"Team {number}"})
    _api_post(page, f"/t/{tid}/api/start")
    return tid


def _play_the_first_round(page, tid):
    for match in page.request.get(f"/t/{tid}/api/matches").json()["items"]:
        _api_post(page, f"/t/{tid}/api/matches/{match['id']}/result", {"winner": match["team1_id"]})


def _styled(page):
    """True when the kept stylesheet applies (its skip link is moved off screen until focused)."""
    return page.evaluate("() => getComputedStyle(document.querySelector('.skip-link')).position") == "absolute"


def test_archived_and_cancelled_tournaments_pages_read_from_their_snapshot(contexts, db_engine):
    page = contexts().page()
    _register_and_log_in(page)
    archived = _tournament(page, "Archived Open", 4)
    _play_the_first_round(page, archived)
    _play_the_first_round(page, archived)
    _api_post(page, f"/api/v1/tournaments/{archived}/archive")
    cancelled = _tournament(page, "Cancelled Open", 8, format="double_elimination")
    _play_the_first_round(page, cancelled)
    _api_post(page, f"/api/v1/tournaments/{cancelled}/cancel")

    page.goto(f"/t/{archived}/")
    page.get_by_role("heading", name="Archived Open", level=1).wait_for()
    assert page.locator(".champion").inner_text() == "Champion: Team 1"
    assert page.locator(".meta .state").inner_text() == "Archived"
    assert _styled(page)
    check_page(page, "ended-archived")
    page.set_viewport_size({"width": 360, "height": 900})  # one round at a time: the tabs are links
    page.get_by_role("link", name="Semifinals").click()
    page.wait_for_url(f"**/t/{archived}/?round=w1#bracket")
    assert page.locator("#round-w1").is_visible() and not page.locator("#round-w2").is_visible()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/t/{archived}/?follow=current")
    page.get_by_text("No match to play right now.").wait_for()
    check_page(page, "ended-archived-venue")

    page.goto(f"/t/{cancelled}/")
    assert page.locator(".meta .state").inner_text() == "Cancelled"
    assert page.locator(".champion").count() == 0
    assert page.locator("#round-w1 .winner").count() == 4
    check_page(page, "ended-cancelled")

    # A browser asking for a path that was not kept gets the 404 page, not JSON.
    page.goto(f"/t/{cancelled}/nothing/here")
    page.get_by_role("heading", name="Not found").wait_for()

    # A snapshot kept before pages were: a page of the orchestrator's saying what can be read.
    with db_engine.begin() as conn:
        text = conn.execute(sa.select(tournaments.c.final_snapshot).where(tournaments.c.id == archived)).scalar()
        old = {k: v for k, v in json.loads(text).items() if k not in ("pages", "static")}
        conn.execute(tournaments.update().where(tournaments.c.id == archived).values(final_snapshot=json.dumps(old)))
    page.goto(f"/t/{archived}/")
    page.get_by_text("its page was not kept").wait_for()
    assert page.get_by_role("link", name="api/standings").count() == 1
    check_page(page, "ended-without-kept-pages")



def test_a_live_page_left_open_across_the_end_turns_into_the_kept_page(contexts):
    """A page's part refreshed after its tournament ended (its server stopped) reloads the page,
    which is then the kept one: no failed request, no stale live page."""
    page = contexts().page()
    _register_and_log_in(page)
    tid = _tournament(page, "Left Open", 4)
    page.goto(f"/t/{tid}/")
    assert page.locator(".meta .state").inner_text() == "Active"
    _api_post(page, f"/api/v1/tournaments/{tid}/cancel")
    # As the page's refresh on the end's event does when it reaches the server as it stops.
    with page.expect_navigation():
        page.evaluate("() => htmx.ajax('GET', 'fragments/head', {target: '#tournament-head', swap: 'outerHTML'})")
    page.locator(".meta .state", has_text="Cancelled").wait_for()
    check_page(page, "ended-after-live")
