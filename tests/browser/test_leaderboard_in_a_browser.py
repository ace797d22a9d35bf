"""The leaderboard in a browser: from the nav to a game's table to a team's history."""
import uuid

import pytest

from tests.browser.conftest import check_page
from tests.support.played import PlayedTournament, delete_written

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def rated_game(db_engine):
    game = "Browser game " + uuid.uuid4().hex[:6]
    # ARCHIVED: the site's supervisor would start a server for a COMPLETED one, which the test would
    # leave running once its rows are deleted.
    for teams in ([SCRIPT, "Night Owls", "Red Foxes", "Blue Jays"], ["Blue Jays", SCRIPT]):
        PlayedTournament(game, teams).start().play_out().write(db_engine, state="ARCHIVED")
    yield game
    delete_written(db_engine)


def test_a_visitor_finds_a_games_leaderboard_and_a_teams_history(contexts, rated_game):
    page = contexts().page()
    page.goto("/")
    page.get_by_role("link", name="Leaderboard").click()
    page.get_by_role("link", name=rated_game).click()

    table = page.get_by_role("table")
    table.wait_for()
    first = table.locator("tbody tr").first
    assert first.locator("th").inner_text() == SCRIPT  # the most wins; shown as text
    check_page(page, "leaderboard")

    page.get_by_role("link", name="Blue Jays").first.click()
    page.get_by_role("heading", name="Blue Jays").wait_for()
    assert page.get_by_role("table").locator("tbody tr").count() == 2
    check_page(page, "leaderboard-team")
