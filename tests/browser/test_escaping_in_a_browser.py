"""Everything a user typed shows as the text they typed, on every page that shows it, in a real
Chromium: a team named `<script>alert(1)</script>`, a tournament name, description and game and a
player name carrying HTML and quotes, from signup to the archived tournament's kept page.

The CSP (`script-src 'self'`) would stop an injected inline script from running, so a dialog that
never fires proves little alone: each page is also checked for the typed text, visible as typed,
and for no element made from it (every payload's tags carry `data-xss`; no inline <script> exists).
"""
import re
import uuid

import sqlalchemy as sa

from shared.db.tables import users
from tests.browser.conftest import check_page
from tests.browser.test_pages_in_a_browser import SCRIPT_NAME, _register_and_log_in

TEAM = SCRIPT_NAME
TOURNAMENT = "Cup \"<img src=x data-xss onerror=alert(2)>\" & 'Co'"
DESCRIPTION = "</p><script>alert(3)</script><a data-xss href=\"javascript:alert(4)\">'quoted' & \"double\"</a>"
PLAYER = "Eve \"<b data-xss onclick=alert(5)>B</b>' & Co"


class Journey:
    """The pages of one visitor, each checked for dialogs, injected elements and the typed text."""

    def __init__(self, contexts):
        self.page = contexts().page()
        self.dialogs = []
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))

    def shows(self, where, *typed):
        """Assert the page shows each of `typed` as text and made no element of any of it."""
        page = self.page
        page.wait_for_load_state()
        text = page.locator("body").inner_text()
        for value in typed:
            assert value in text, f"{where}: {value!r} is not shown as typed"
        assert page.locator("[data-xss]").count() == 0, f"{where}: an element was made of typed text"
        assert page.locator("script:not([src])").count() == 0, f"{where}: an inline script"
        assert not self.dialogs, f"{where}: {self.dialogs}"


def test_what_users_typed_shows_as_text_on_every_page(contexts, db_engine):
    game = f"<i data-xss>chess</i> {uuid.uuid4().hex[:6]}"
    organizer = Journey(contexts)
    page = organizer.page
    username = _register_and_log_in(page)
    page.get_by_role("link", name="New tournament").click()
    page.get_by_label("Name", exact=True).fill(TOURNAMENT)
    page.get_by_label("Game", exact=True).fill(game)
    page.get_by_label("Most teams", exact=True).fill("2")
    page.get_by_label("Description", exact=True).fill(DESCRIPTION)
    page.get_by_role("button", name="Create the draft").click()
    page.get_by_text("The tournament was saved.").wait_for()
    detail_url = page.url
    tournament_id = re.search(r"/tournaments/(t_[0-9a-f]+)", detail_url).group(1)
    organizer.shows("the draft's detail page", TOURNAMENT, DESCRIPTION, game)
    page.get_by_role("button", name="Publish").click()
    page.get_by_text("The tournament was published.").wait_for()

    captains = []
    for team, player in ((TEAM, PLAYER), ("Blue", "Bo")):
        captain = Journey(contexts)
        _register_and_log_in(captain.page)
        captain.page.goto(f"/t/{tournament_id}/")
        captain.page.get_by_label("Team name", exact=True).fill(team)
        captain.page.get_by_label("Players, one per line (optional)").fill(player)
        captain.page.get_by_role("button", name="Sign up").click()
        captain.page.get_by_text("Your team is signed up.").wait_for()
        captains.append(captain)
    alice, bob = captains
    alice.shows("the page in REGISTRATION", TOURNAMENT, DESCRIPTION, game, TEAM, PLAYER)
    page.goto(detail_url)
    organizer.shows("the detail page in REGISTRATION", TOURNAMENT, TEAM)
    for path, where in (("/", "home"), ("/tournaments", "the list")):
        page.goto(path)
        organizer.shows(where, TOURNAMENT)
    page.goto(f"/tournaments?name={TOURNAMENT[:8]}")
    organizer.shows("the list searched by name", TOURNAMENT)

    page.goto(f"/t/{tournament_id}/")
    page.get_by_role("button", name="Start the tournament").click()
    page.get_by_text("The tournament has started").wait_for()
    alice.page.goto(f"/t/{tournament_id}/")
    alice.shows("the page in ACTIVE", TOURNAMENT, DESCRIPTION, TEAM)
    results = alice.page.locator("#results")
    assert TEAM in results.inner_text()
    assert TEAM in alice.page.locator("#bracket").inner_text()
    assert TEAM in alice.page.locator("#standings").inner_text()
    alice.page.goto(f"/t/{tournament_id}/?follow=current")
    alice.shows("the venue view in ACTIVE", TOURNAMENT, TEAM)
    alice.page.goto(f"/t/{tournament_id}/")
    results.get_by_label(f"{TEAM} won").check()
    results.get_by_role("button", name="Report result").click()
    alice.page.get_by_text("Your result is reported").wait_for()
    alice.shows("the results form after a report", TEAM)

    bob.page.goto(f"/t/{tournament_id}/")
    assert f"{TEAM} won" in bob.page.locator("#results").inner_text()
    bob.page.get_by_role("button", name="Confirm this result").click()
    bob.page.get_by_text("The result is recorded.").wait_for()
    bob.shows("the page in COMPLETED", TOURNAMENT, DESCRIPTION, f"Champion: {TEAM}")
    bob.page.goto(f"/t/{tournament_id}/?follow=current")
    bob.shows("the venue view in COMPLETED", TOURNAMENT, TEAM)

    alice.page.goto("/dashboard")
    alice.shows("the captain's dashboard and notifications", TOURNAMENT)
    assert TOURNAMENT in alice.page.locator(".notices").inner_text()
    page.goto(detail_url)
    organizer.shows("the detail page in COMPLETED", TOURNAMENT, DESCRIPTION, TEAM)
    page.goto("/dashboard")
    organizer.shows("the organizer's dashboard", TOURNAMENT)
    with db_engine.begin() as conn:
        conn.execute(sa.update(users).where(users.c.username_key == username.lower()).values(is_admin=True))
    page.goto("/fleet")
    organizer.shows("the fleet board", TOURNAMENT)

    page.goto("/leaderboard")
    page.get_by_role("link", name=game).click()
    organizer.shows("the game's leaderboard", game, TEAM)
    page.get_by_role("link", name=TEAM).click()
    page.get_by_role("heading", name=TEAM).wait_for()
    organizer.shows("the team's history", game, TEAM, TOURNAMENT)

    page.goto(detail_url)
    page.get_by_role("button", name="Archive").click()
    page.get_by_text("The tournament was archived.").wait_for()
    page.goto(f"/t/{tournament_id}/")
    organizer.shows("the archived tournament's page", TOURNAMENT, DESCRIPTION, f"Champion: {TEAM}", TEAM)
    check_page(page, "escaping-archived-tournament")
    page.goto(f"/t/{tournament_id}/?follow=current")
    organizer.shows("the archived venue view", TOURNAMENT, TEAM)
