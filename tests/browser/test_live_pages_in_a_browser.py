"""The pages stay live in a real Chromium (htmx over each page's one stream): a bracket page
follows a result reported and confirmed through the results form, a captain's notification badge
and the home page's news update, and a viewer keeps their place; all without a reload (a marker
set on `window` survives) and every page passing the checks."""
import re
import time
import uuid

from playwright.sync_api import expect

from tests.browser.conftest import check_page
from tests.browser.test_dashboard_in_a_browser import _api_post
from tests.browser.test_pages_in_a_browser import _register_and_log_in

LIVE_WITHIN_MS = 1000  # the promise: a viewer sees a result within a second
MARKER = "window.liveMarker"


def _tournament(organizer, name, teams, publish=True, **fields):
    """A tournament of the organizer's made through the API (the pages' own journeys test the
    forms): its id."""
    body = {"name": name, "game": "chess", "format": "single_elimination", "min_teams": 2, "max_teams": teams,
            "best_of": 1, "confirm_results": True, **fields}
    tournament_id = _api_post(organizer, "/api/v1/tournaments", body)["id"]
    if publish:
        _api_post(organizer, f"/api/v1/tournaments/{tournament_id}/publish")
    return tournament_id


def _watching(contexts, path, **viewport):
    """An anonymous visitor's page at `path` with a marker on `window`: still there, no reload."""
    watcher = contexts()
    page = watcher.page()
    if viewport:
        page.set_viewport_size(viewport)
    page.goto(path)
    _stream_open(page)
    page.evaluate(f"{MARKER} = 'kept'")
    return page


def _stream_open(page):
    """Wait until the page's one stream is open (htmx's SSE extension connected)."""
    page.wait_for_function("() => { const s = document.body && htmx && htmx.find('body');"
                           " return s && s['htmx-internal-data'] && s['htmx-internal-data'].sseEventSource"
                           " && s['htmx-internal-data'].sseEventSource.readyState === 1; }")


def _not_reloaded(page):
    assert page.evaluate(MARKER) == "kept"


def test_a_bracket_page_follows_a_result_reported_and_confirmed_through_the_results_form(contexts):
    organizer = contexts().page()
    _register_and_log_in(organizer)
    tournament_id = _tournament(organizer, "Live Cup", 4)
    alice, bob = contexts().page(), contexts().page()
    _register_and_log_in(alice)
    _register_and_log_in(bob)
    # Seeds in order of signing up: 1 Alice, 4 Bob, so they meet in round 1.
    _api_post(alice, f"/t/{tournament_id}/api/teams", {"name": "Alice Team"})
    for name in ("Cy Team", "Dee Team"):
        _api_post(organizer, f"/t/{tournament_id}/api/teams", {"name": name})
    _api_post(bob, f"/t/{tournament_id}/api/teams", {"name": "Bob Team"})

    # A captain's badge: their dashboard seen, then the start tells them their match is ready.
    alice.goto("/dashboard")
    alice.goto("/tournaments")
    _stream_open(alice)
    alice.evaluate(f"{MARKER} = 'kept'")
    assert alice.locator("#notification-badge .badge").count() == 0

    viewer = _watching(contexts, f"/t/{tournament_id}/")
    assert viewer.locator("#teams .team-name").count() == 4
    _api_post(organizer, f"/t/{tournament_id}/api/start")
    # The start: the page's sections follow the state (the team list gives way to the bracket).
    expect(viewer.locator("#bracket")).to_be_visible()
    expect(viewer.locator("#tournament-head .state")).to_have_text("Active")
    expect(alice.locator("#notification-badge .badge")).to_have_text(re.compile(r"^[1-9][0-9]* new notifications?$"))
    _not_reloaded(alice)
    check_page(alice, "live-notification-badge")

    match_id = organizer.request.get(f"/t/{tournament_id}/api/matches").json()["items"][0]["id"]
    card = viewer.locator(f"#bracket #match-{match_id}")
    expect(card).to_have_class(re.compile(r"\bstatus-pending\b"))
    alice.goto(f"/t/{tournament_id}/")
    alice.locator("#results").get_by_label("Alice Team won").check()
    alice.locator("#results").get_by_role("button", name="Report result").click()
    alice.get_by_text("Your result is reported").wait_for()
    reported = time.monotonic()
    expect(card).to_have_class(re.compile(r"\bstatus-reported\b"), timeout=LIVE_WITHIN_MS)
    print(f"reported -> bracket page updated in {(time.monotonic() - reported) * 1000:.0f} ms")

    bob.goto(f"/t/{tournament_id}/")
    bob.locator("#results").get_by_role("button", name="Confirm this result").click()
    bob.get_by_text("The result is recorded.").wait_for()
    confirmed = time.monotonic()
    final = viewer.locator("#bracket #round-w2 .match-card").first
    expect(final.locator(".slot").first).to_have_text("Alice Team", timeout=LIVE_WITHIN_MS)
    print(f"confirmed -> winner in the final in {(time.monotonic() - confirmed) * 1000:.0f} ms")
    expect(card).to_have_class(re.compile(r"\bstatus-completed\b"))
    expect(viewer.locator("#standings tbody tr").first).to_contain_text("Alice Team")
    _not_reloaded(viewer)
    check_page(viewer, "live-bracket-advanced")


def test_the_home_page_shows_a_new_tournaments_announcement_live(contexts):
    home = _watching(contexts, "/")
    organizer = contexts().page()
    _register_and_log_in(organizer)
    name = f"Live News {uuid.uuid4().hex[:6]}"
    tournament_id = _tournament(organizer, name, 8, publish=False)
    # The organizer's own page of the draft follows too: its state, and only the buttons it allows.
    organizer.goto(f"/tournaments/{tournament_id}")
    _stream_open(organizer)
    organizer.evaluate(f"{MARKER} = 'kept'")
    expect(organizer.get_by_role("button", name="Publish")).to_have_count(1)
    _api_post(organizer, f"/api/v1/tournaments/{tournament_id}/publish")
    expect(organizer.locator("#tournament-live .meta .state")).to_have_text("Registration")
    expect(organizer.get_by_role("button", name="Publish")).to_have_count(0)
    expect(organizer.get_by_role("heading", name="Teams")).to_be_visible()  # the organizer's panel, live
    _not_reloaded(organizer)
    news = home.locator(".announcements li").filter(has_text=name)
    expect(news).to_contain_text(f"{name} is open for registration")
    expect(home.locator("#home-live .cards").get_by_role("link", name=name)).to_be_visible()
    _not_reloaded(home)
    check_page(home, "live-home-news")


def test_a_viewer_keeps_their_scroll_position_across_an_update(contexts):
    organizer = contexts().page()
    _register_and_log_in(organizer)
    tournament_id = _tournament(organizer, "Scroll Cup", 16)
    for number in range(16):
        _api_post(organizer, f"/t/{tournament_id}/api/teams", {"name": f"Team {number + 1:02d}"})
    _api_post(organizer, f"/t/{tournament_id}/api/start")
    # Wide enough for the tree (not the phone's one round at a time), too narrow for its 4 rounds.
    viewer = _watching(contexts, f"/t/{tournament_id}/", width=760, height=500)
    rounds = viewer.locator("#bracket .rounds").first
    assert rounds.evaluate("box => box.scrollWidth > box.clientWidth")  # it does scroll sideways
    rounds.evaluate("box => { box.scrollLeft = 120; }")
    viewer.evaluate("() => window.scrollTo(0, 300)")
    before = viewer.evaluate("() => [window.scrollY, document.querySelector('#bracket .rounds').scrollLeft]")
    assert before[0] > 0 and before[1] > 0

    match = organizer.request.get(f"/t/{tournament_id}/api/matches").json()["items"][0]
    _api_post(organizer, f"/t/{tournament_id}/api/matches/{match['id']}/result", {"winner": match["team1_id"]})
    expect(viewer.locator(f"#bracket #match-{match['id']}")).to_have_class(re.compile(r"\bstatus-completed\b"))
    after = viewer.evaluate("() => [window.scrollY, document.querySelector('#bracket .rounds').scrollLeft]")
    assert after == before
    _not_reloaded(viewer)


def test_a_page_refetches_what_it_shows_when_its_stream_opens_again(contexts):
    """Frames carry no ids and nothing is replayed: what a page missed while its stream was down
    comes back by the refetch its glue asks for (live:resync) when the stream opens again. The
    drop is made in the page (its EventSource closed), the reopening announced as htmx does."""
    organizer = contexts().page()
    _register_and_log_in(organizer)
    tournament_id = _tournament(organizer, "Resync Cup", 8)
    viewer = _watching(contexts, f"/t/{tournament_id}/")
    viewer.evaluate("() => document.body['htmx-internal-data'].sseEventSource.close()")
    _api_post(organizer, f"/t/{tournament_id}/api/teams", {"name": "Missed Team"})
    viewer.wait_for_timeout(LIVE_WITHIN_MS)
    assert viewer.locator("#teams .team-name").count() == 0  # nothing arrives on a closed stream
    viewer.evaluate("() => htmx.trigger(document.body, 'htmx:sseOpen', {})")
    expect(viewer.locator("#teams .team-name")).to_have_text(["Missed Team"])
    _not_reloaded(viewer)
