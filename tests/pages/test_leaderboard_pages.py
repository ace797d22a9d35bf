"""The leaderboard pages: the games, a game's table and a team's history, names shown as text."""
import uuid

import pytest

from tests.pages.helpers import HTML
from tests.support.played import delete_written, play_tournament

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def remove_played_tournaments(db_engine):
    yield
    delete_written(db_engine)


def test_the_leaderboard_page_lists_games_and_a_games_teams_best_first(client, db_engine):
    game = "page game " + uuid.uuid4().hex[:8]
    play_tournament(db_engine, game, ["Winner Team", "Loser Team"])

    games = client.get("/leaderboard", headers=HTML).get_data(as_text=True)
    table = client.get("/leaderboard", query_string={"game": game}, headers=HTML)

    assert game in games and 'href="/leaderboard"' in games  # the nav links it
    text = table.get_data(as_text=True)
    assert table.status_code == 200 and text.index("Winner Team") < text.index("Loser Team")
    assert "27.64" in text and "22.36" in text  # each side's mu after one win from 25 (openskill PlackettLuce)


def test_a_team_named_like_a_script_shows_as_text_on_both_pages(client, db_engine):
    game = "xss " + uuid.uuid4().hex[:8]
    play_tournament(db_engine, game, [SCRIPT, "Plain"])

    table = client.get("/leaderboard", query_string={"game": game}, headers=HTML).get_data(as_text=True)
    team = client.get("/leaderboard/team", query_string={"game": game, "name": "plain"}, headers=HTML)
    mine = client.get("/leaderboard/team", query_string={"game": game, "name": SCRIPT}, headers=HTML)

    for text in (table, team.get_data(as_text=True), mine.get_data(as_text=True)):
        assert SCRIPT not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert team.status_code == 200 and mine.status_code == 200
    assert "loss" in team.get_data(as_text=True) and "win" in mine.get_data(as_text=True)


def test_an_unknown_team_or_a_bad_game_is_a_readable_page(client):
    unknown = client.get("/leaderboard/team", query_string={"game": "chess", "name": "Nobody" + uuid.uuid4().hex},
                         headers=HTML)
    bad = client.get("/leaderboard", query_string={"game": "x" * 60}, headers=HTML)
    cursor = client.get("/leaderboard", query_string={"game": "chess", "cursor": "nonsense"}, headers=HTML)

    assert unknown.status_code == 404 and unknown.mimetype == "text/html"
    assert bad.status_code == 200 and "must be 1 to 50 characters" in bad.get_data(as_text=True)
    assert cursor.status_code == 200 and "next_cursor" in cursor.get_data(as_text=True)
