"""The tournament page on a 360 px phone: what would scroll sideways shows one round at a time."""
from tests.browser.conftest import check_page
from tests.browser.test_ended_pages_in_a_browser import _play_the_first_round, _tournament
from tests.browser.test_pages_in_a_browser import _register_and_log_in


def test_a_round_robin_of_eight_reads_on_a_360_px_phone_without_scrolling_sideways(contexts):
    page = contexts().page()
    _register_and_log_in(page)
    tid = _tournament(page, "Phone League", 8, format="round_robin")
    _play_the_first_round(page, tid)
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(f"/t/{tid}/")
    page.get_by_role("heading", name="Phone League", level=1).wait_for()
    assert not page.locator(".cross-table").first.is_visible()
    assert page.locator("#round-r2").is_visible() and not page.locator("#round-r1").is_visible()
    # No box of the bracket scrolls sideways (the screen-reader-only heading clips on purpose).
    wide = page.evaluate("() => [...document.querySelectorAll('#bracket *:not(.visually-hidden)')]"
                         ".filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible')"
                         ".length")
    assert wide == 0 and page.evaluate("() => document.documentElement.scrollWidth") <= 360
    page.get_by_role("link", name="Round 1", exact=True).click()
    page.wait_for_url(f"**/t/{tid}/?round=r1#bracket")
    assert page.locator("#round-r1").is_visible()
    check_page(page, "round-robin-phone")
