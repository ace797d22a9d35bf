"""Captains and the organizer on the tournament's own page (/t/<id>/) in a real Chromium: signup,
start, a captain reports, the opponent confirms; with JavaScript and without."""
import re

import pytest

from tests.browser.conftest import check_page
from tests.browser.test_pages_in_a_browser import SCRIPT_NAME, _create, _register_and_log_in


def _published(contexts, javascript):
    """An organizer's page after publishing a 2-team tournament; (page, tournament id)."""
    page = contexts(javascript=javascript).page()
    _register_and_log_in(page)
    _create(page, "Forms Cup", **{"Fewest teams": "2", "Most teams": "4"})
    page.get_by_role("button", name="Publish").click()
    page.get_by_text("The tournament was published.").wait_for()
    return page, re.search(r"/tournaments/(t_[0-9a-f]+)", page.url).group(1)


def _sign_up(contexts, javascript, tournament_id, team, screens=False):
    page = contexts(javascript=javascript).page()
    _register_and_log_in(page)
    page.goto(f"/t/{tournament_id}/")
    if screens:
        check_page(page, "tournament-signup")
    page.get_by_label("Team name", exact=True).fill(team)
    page.get_by_label("Players, one per line (optional)").fill("Ann\nBea")
    page.get_by_role("button", name="Sign up").click()
    page.get_by_text("Your team is signed up.").wait_for()
    assert page.locator(".team-list").get_by_text(team, exact=True).count() == 1
    return page


def _hold_navigation(page, marker):
    """Holds the page's loads whose URL holds `marker` until released; returns the held routes."""
    held = []
    page.route(lambda url: marker in url, lambda route: held.append(route))
    return held


def _boxes_apart_from_their_labels(page):
    """The ids of game-score boxes not on their own label's line, just right of it (on a phone, a
    box once sat beside the other team's label)."""
    return page.evaluate("""() => [...document.querySelectorAll('.scores input')].filter(box => {
        const label = document.querySelector(`label[for="${box.id}"]`).getBoundingClientRect();
        const own = box.getBoundingClientRect(), middle = (own.top + own.bottom) / 2;
        return !(middle > label.top && middle < label.bottom && own.left >= label.right - 1);
    }).map(box => box.id)""")


def _release_after(page, held, seconds):
    """Waits for a held load, keeps it held `seconds` longer (the old page still running), then lets it go."""
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the page was never sent to the held address"
    page.wait_for_timeout(seconds * 1000)
    for route in held:
        route.continue_()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_captains_sign_up_the_organizer_starts_and_a_result_is_reported_and_confirmed(contexts, javascript):
    organizer, tournament_id = _published(contexts, javascript)
    alice = _sign_up(contexts, javascript, tournament_id, SCRIPT_NAME, screens=javascript)
    bob = _sign_up(contexts, javascript, tournament_id, "Bobcats")
    organizer.goto(f"/t/{tournament_id}/")
    organizer.get_by_role("button", name="Start the tournament").click()
    organizer.get_by_text("The tournament has started").wait_for()

    alice.goto(f"/t/{tournament_id}/")
    results = alice.locator("#results")
    assert results.get_by_role("button", name="Report result").count() == 1  # her match, only what she may do
    if javascript:
        check_page(alice, "tournament-results-form")
        alice.set_viewport_size({"width": 360, "height": 900})
        assert _boxes_apart_from_their_labels(alice) == []
        alice.set_viewport_size({"width": 1280, "height": 900})
    results.get_by_label(f"{SCRIPT_NAME} won").check()
    results.get_by_role("button", name="Report result").click()
    alice.get_by_text("Your result is reported").wait_for()
    assert "waiting for the other captain" in alice.locator("#results").inner_text()

    bob.goto(f"/t/{tournament_id}/")
    assert f"{SCRIPT_NAME} won" in bob.locator("#results").inner_text()
    if javascript:
        held = _hold_navigation(bob, "notice=recorded")
    bob.get_by_role("button", name="Confirm this result").click()
    if javascript:
        # The final's answer sends the page to ?notice=recorded; while that load is held, the
        # stream's event for the same result is answered too: it must not send the page elsewhere.
        _release_after(bob, held, seconds=2)
    bob.get_by_text("The result is recorded.").wait_for()
    assert "notice=recorded" in bob.url
    assert bob.locator(".champion").inner_text() == f"Champion: {SCRIPT_NAME}"
    if javascript:
        check_page(bob, "tournament-completed-after-forms")
