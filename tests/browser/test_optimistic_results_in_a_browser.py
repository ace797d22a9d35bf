"""The results form's optimistic posts and the check-in banner's countdown, in a real Chromium:
a result refused by the server rolls back and says why beside its match, an accepted one stays
and the section shows the server's new state; the banner counts down and holds the captain's
check-in button. The same journeys without JavaScript: the forms post and the pages render."""
import re
from datetime import datetime, timedelta, timezone

import pytest

from tests.browser.conftest import check_page
from tests.browser.test_dashboard_in_a_browser import _api_post
from tests.browser.test_pages_in_a_browser import _register_and_log_in

# Records, from the page's own DOM, each pending result the script showed and whether the match's
# buttons were disabled then (evaluated through DevTools, which the page's CSP does not govern).
WATCH_PENDING = """() => {
  window.pendingSeen = [];
  new MutationObserver(records => records.forEach(r => r.addedNodes.forEach(node => {
    if (node.classList && node.classList.contains('pending-result')) {
      const article = node.closest('[data-match]');
      window.pendingSeen.push({text: node.textContent,
                               disabled: [...article.querySelectorAll('button')].every(b => b.disabled)});
    }
  }))).observe(document.getElementById('results'), {childList: true, subtree: true});
}"""

# What the page stream's SSE extension does when the tournament's channel speaks (STREAM.md).
STREAM_EVENT = "() => document.body.dispatchEvent(new CustomEvent('sse:tournament', {bubbles: true}))"


def _tournament(contexts, javascript, name, best_of="1", check_in=False, starts_at=None):
    """An organizer's page after publishing `name` (up to 4 teams); (page, tournament id)."""
    page = contexts(javascript=javascript).page()
    _register_and_log_in(page)
    page.get_by_role("link", name="New tournament").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Game", exact=True).fill("chess")
    page.get_by_label("Most teams", exact=True).fill("4")
    page.get_by_label("Games per match (best of)", exact=True).select_option(best_of)
    if starts_at:
        page.get_by_label("Starts at (UTC)", exact=True).fill(starts_at.strftime("%Y-%m-%dT%H:%M"))
    if check_in:
        page.get_by_label("Teams check in before the start", exact=True).check()
    page.get_by_role("button", name="Create the draft").click()
    page.get_by_role("button", name="Publish").click()
    page.get_by_text("The tournament was published.").wait_for()
    return page, re.search(r"/tournaments/(t_[0-9a-f]+)", page.url).group(1)


def _captain(contexts, javascript, tournament_id, team):
    page = contexts(javascript=javascript).page()
    _register_and_log_in(page)
    page.goto(f"/t/{tournament_id}/")
    page.get_by_label("Team name", exact=True).fill(team)
    page.get_by_role("button", name="Sign up").click()
    page.get_by_text("Your team is signed up.").wait_for()
    return page


def _started_with_two_captains(contexts, javascript):
    """A best-of-3 bracket of four: Alpha (Alice's) against Delta, Bravo (Bob's) against Charlie;
    the organizer entered Charlie and Delta, whose results only the organizer gives."""
    organizer, tournament_id = _tournament(contexts, javascript, "Optimist Cup", best_of="3")
    alice = _captain(contexts, javascript, tournament_id, "Alpha")
    bob = _captain(contexts, javascript, tournament_id, "Bravo")
    for team in ("Charlie", "Delta"):
        _api_post(organizer, f"/t/{tournament_id}/api/teams", {"name": team})
    organizer.goto(f"/t/{tournament_id}/")
    organizer.get_by_role("button", name="Start the tournament").click()
    organizer.get_by_text("The tournament has started").wait_for()
    for page in (alice, bob):
        page.goto(f"/t/{tournament_id}/")
    return organizer, alice, bob, tournament_id


def _report(page, winner, score1, score2, button="Report result"):
    match = page.locator("#results .match-action").first
    match.get_by_label(f"{winner} won").check()
    match.get_by_label(re.compile(r"games$")).nth(0).fill(score1)
    match.get_by_label(re.compile(r"games$")).nth(1).fill(score2)
    match.get_by_role("button", name=button).click()
    return match


def test_a_refused_optimistic_result_rolls_back_and_says_why_and_an_accepted_one_stays(contexts):
    organizer, alice, bob, _tournament_id = _started_with_two_captains(contexts, javascript=True)
    posts = []
    alice.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    alice.evaluate(WATCH_PENDING)
    match = alice.locator("#results .match-action").first
    message = match.locator(".match-message")

    # An impossible score for a best-of-3 is caught at once, before anything is sent.
    _report(alice, "Alpha", "3", "0")
    assert "don't fit a best-of-3" in message.inner_text() and posts == []

    # Past the page's own check (as a stale or tampered page would send it), the server refuses it:
    # the result showed as pending, then the match is back as it was, with the server's message.
    alice.evaluate("() => document.querySelector('#results form[data-best-of]').dataset.bestOf = '1'")
    match.get_by_role("button", name="Report result").click()
    message.get_by_text("The scores don't fit a best-of-3.").wait_for()
    assert len(posts) == 1
    assert alice.evaluate("() => window.pendingSeen") == [{"text": "Sending: Alpha won 3–0…", "disabled": True}]
    assert match.locator(".pending-result").count() == 0 and match.locator("[data-badge]").inner_text() == "pending"
    assert match.get_by_role("button", name="Report result").is_enabled()
    assert match.get_by_label("Alpha won").is_checked() and match.get_by_label("Alpha games").input_value() == "3"
    assert message.get_attribute("aria-live") == "assertive"
    check_page(alice, "results-optimistic-refused")

    # Meanwhile the organizer records Alpha's match from the organizer's page: accepted, it stays,
    # and the organizer's section shows the server's new state (that match is no longer to record).
    organizer.evaluate(WATCH_PENDING)
    settled = organizer.locator("#results .match-action", has_text="Delta")
    settled.get_by_label("Delta won").check()
    settled.get_by_role("button", name="Record result").click()
    organizer.locator("#results-status").get_by_text("The result is recorded.").wait_for()
    assert organizer.locator("#results .match-action", has_text="Delta").count() == 0
    assert organizer.locator("#results .match-action", has_text="Bravo").count() == 1
    assert organizer.evaluate("() => window.pendingSeen")[0]["text"] == "Sending: Delta won…"

    # Alice's page still offers her report: the server refuses it now that the match is decided.
    alice.evaluate("() => document.querySelector('#results form[data-best-of]').dataset.bestOf = '3'")
    match.get_by_label("Alpha games").fill("2")
    match.get_by_role("button", name="Report result").click()
    message.get_by_text(re.compile(r"it is completed")).wait_for()
    assert match.get_by_role("button", name="Report result").is_enabled()
    assert match.get_by_label("Alpha games").input_value() == "2"

    # The tournament's stream says something changed: not under her hands (focus in the form, her
    # entries in it). When she leaves the form with her entries in it, she is offered the latest,
    # and gets the server's state when she asks for it.
    alice.evaluate(STREAM_EVENT)
    alice.wait_for_timeout(600)
    assert match.get_by_label("Alpha games").input_value() == "2" and message.inner_text()
    assert alice.locator("#results-stale").count() == 0
    alice.get_by_role("heading", name="Your matches").click()  # focus leaves the form
    offer = alice.locator("#results-stale")
    offer.get_by_text("These matches have changed since you started filling a form.").wait_for()
    assert match.get_by_label("Alpha games").input_value() == "2"
    check_page(alice, "results-changed-while-editing")
    offer.get_by_role("button", name="Show the latest").click()
    alice.locator("#results").get_by_text("No match of yours is waiting for a result right now.").wait_for()
    assert offer.count() == 0

    # Bob's report is accepted: it stays, the page isn't reloaded, and his match says it waits.
    bob_url = bob.url
    bob.evaluate(WATCH_PENDING)
    _report(bob, "Bravo", "2", "1")
    bob.locator("#results-status").get_by_text("Your result is reported").wait_for()
    assert "waiting for the other captain" in bob.locator("#results .match-action").first.inner_text()
    assert bob.evaluate("() => window.pendingSeen") == [{"text": "Sending: Bravo won 2–1…", "disabled": True}]
    assert bob.url == bob_url
    check_page(bob, "results-optimistic-accepted")

    # The organizer's page, idle, follows the stream at once: Bob's report shows up there.
    organizer.evaluate(STREAM_EVENT)
    organizer.locator("#results .match-action", has_text="Charlie").get_by_text("Bravo reported: Bravo won 2–1").wait_for()

    # The organizer's session gone (logged out elsewhere, expired): the gateway refuses the form's
    # token, and its JSON message is what the organizer reads beside the match, which rolls back.
    organizer.context.clear_cookies()
    last = organizer.locator("#results .match-action", has_text="Charlie")
    last.get_by_label("Charlie won").check()
    last.get_by_role("button", name="Record result").click()
    last.locator(".match-message").get_by_text("This form has expired or did not come from this site").wait_for()
    assert last.get_by_role("button", name="Record result").is_enabled()
    assert last.get_by_label("Charlie won").is_checked()


def test_without_javascript_a_refused_result_is_the_page_with_why_and_its_forms_still_post(contexts):
    _organizer, alice, _bob, tournament_id = _started_with_two_captains(contexts, javascript=False)
    _report(alice, "Alpha", "3", "0")
    alice.get_by_role("alert").get_by_text("The scores don't fit a best-of-3.").wait_for()
    # The refused page is shown at the form's URL: its stylesheet and forms still reach the page's own.
    assert alice.url.endswith("/result")
    # (the stylesheet resolves there: a 404 for it would fail the test, as any failed request does)
    assert alice.locator('link[rel="stylesheet"][href$="bracket.css"]').get_attribute("href") == "../../../static/bracket.css"
    _report(alice, "Alpha", "2", "0")
    alice.get_by_text("Your result is reported").wait_for()
    assert alice.url.endswith(f"/t/{tournament_id}/?notice=reported")
    assert "waiting for the other captain" in alice.locator("#results").inner_text()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_check_in_banner_counts_down_to_the_start_and_holds_the_captains_button(contexts, javascript):
    starts_at = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(hours=1, minutes=59)
    _organizer, tournament_id = _tournament(contexts, javascript, "Countdown Cup", check_in=True, starts_at=starts_at)
    alice = _captain(contexts, javascript, tournament_id, "Alpha")
    banner = alice.locator("#check-in")
    assert "Check-in stays open until the organizer starts the tournament" in banner.inner_text()
    clock = banner.locator("time[data-countdown]")
    assert clock.get_attribute("datetime") == starts_at.isoformat().replace("+00:00", "Z")
    if javascript:
        # The script takes over the server's text (its first tick may come just after the load).
        alice.wait_for_function("el => / s$/.test(el.textContent)", arg=clock.element_handle())
        first = clock.inner_text()
        assert re.fullmatch(r"in 1 h 5\d min \d\d s", first), first
        alice.wait_for_function("([el, before]) => el.textContent !== before", arg=[clock.element_handle(), first])
        assert re.fullmatch(r"in 1 h 5\d min \d\d s", clock.inner_text())
        check_page(alice, "check-in-banner")
    else:
        first = clock.inner_text()
        assert re.fullmatch(r"in 1 h 5\d min", first), first  # the server's words, right when it rendered
        alice.wait_for_timeout(1200)
        assert clock.inner_text() == first
    banner.get_by_role("button", name="Check in Alpha").click()
    alice.get_by_text("Your team is checked in.").wait_for()
    assert "Alpha is checked in." in alice.locator("#check-in").inner_text()
    assert alice.locator("#check-in").get_by_role("button").count() == 0
