"""The leaderboard: openskill ratings per game from ended tournaments' logs, through the API.

Tournaments are played with the aggregate and written to the real PostgreSQL (tests/support/played.py);
each test has a game of its own, so the run's other tournaments never mix in.
"""
import time
import uuid
from urllib.parse import quote

import pytest
from openskill.models import PlackettLuce

from orchestrator.services import leaderboard
from tests.api.helpers import assert_error
from tests.support.played import delete_written, PlayedTournament, play_tournament


@pytest.fixture
def game():
    return "game " + uuid.uuid4().hex[:8]


@pytest.fixture(autouse=True)
def remove_played_tournaments(db_engine):
    yield
    delete_written(db_engine)


def board(client, game, **params):
    response = client.get("/api/v1/leaderboard", query_string={"game": game, **params})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def by_team(items):
    return {item["team"]: item for item in items}


def test_ratings_are_openskill_plackett_luce_over_matches_in_order(client, db_engine, game):
    play_tournament(db_engine, game, ["Alpha", "Beta"])  # Alpha beats Beta
    play_tournament(db_engine, game, ["alpha", "Gamma"], winner_of=lambda one, two: two)  # Gamma beats alpha
    model = PlackettLuce()
    alpha, beta, gamma = model.rating(), model.rating(), model.rating()
    [[alpha], [beta]] = model.rate([[alpha], [beta]], ranks=[0, 1])
    [[alpha], [gamma]] = model.rate([[alpha], [gamma]], ranks=[1, 0])

    items = board(client, game)["items"]

    assert [item["team"] for item in items] == ["Gamma", "alpha", "Beta"]  # by mu; the latest spelling shown
    assert [item["rank"] for item in items] == [1, 2, 3]
    for item, expected in zip(items, (gamma, alpha, beta)):
        assert item["mu"] == pytest.approx(expected.mu) and item["sigma"] == pytest.approx(expected.sigma)
        assert item["ordinal"] == pytest.approx(expected.mu - 3 * expected.sigma)
    assert by_team(items)["alpha"] | {"mu": 0, "sigma": 0, "ordinal": 0, "last_played": 0} == {
        "rank": 2, "team": "alpha", "mu": 0, "sigma": 0, "ordinal": 0, "matches": 2, "wins": 1, "losses": 1,
        "draws": 0, "last_played": 0}


def test_draws_rate_as_ties(client, db_engine, game):
    play_tournament(db_engine, game, ["Ann", "Bob"], winner_of=lambda one, two: None,
                    format_name="round_robin", allow_draws=True, double_round_robin=True)
    model = PlackettLuce()
    ann, bob = model.rating(), model.rating()
    for _ in range(2):
        [[ann], [bob]] = model.rate([[ann], [bob]], ranks=[0, 0])

    items = by_team(board(client, game)["items"])

    assert all(item["draws"] == 2 and item["matches"] == 2 and item["wins"] == 0 for item in items.values())
    assert items["Ann"]["mu"] == pytest.approx(ann.mu) and items["Ann"]["sigma"] == pytest.approx(ann.sigma)
    history = client.get(f"/api/v1/leaderboard/teams/Ann?game={quote(game)}").get_json()["history"]
    assert [h["result"] for h in history] == ["draw", "draw"]
    assert history[-1]["sigma"] == pytest.approx(ann.sigma) and history[0]["sigma"] > ann.sigma


def test_a_corrected_result_rates_as_corrected(client, db_engine, game):
    other_game = game + " direct"
    corrected = PlayedTournament(game, ["North", "South", "East", "West"]).start()
    first = corrected.playable()[0]
    one, two = corrected.name(first["team1_id"]), corrected.name(first["team2_id"])
    corrected.result(first["id"], one)
    corrected.run("decide_correct_result", first["id"], first["team2_id"])  # the organizer: it was `two`
    corrected.play_out().write(db_engine)
    # The same tournament with the right result from the start.
    direct = PlayedTournament(other_game, ["North", "South", "East", "West"]).start()
    direct.result(direct.playable()[0]["id"], two)
    direct.play_out().write(db_engine)

    def ratings(of_game):
        return [{k: v for k, v in item.items() if k != "last_played"} for item in board(client, of_game)["items"]]
    assert ratings(game) == ratings(other_game)
    assert by_team(board(client, game)["items"])[one]["losses"] == 1


def test_games_are_rated_apart(client, db_engine, game):
    other_game = game + " other"
    play_tournament(db_engine, game, ["Red", "Blue"])
    play_tournament(db_engine, other_game, ["Blue", "Red", "Green", "Gold"], winner_of=lambda one, two: "Blue"
                    if "Blue" in (one, two) else one)

    assert {item["team"]: item["matches"] for item in board(client, game)["items"]} == {"Red": 1, "Blue": 1}
    other = by_team(board(client, other_game)["items"])
    assert other["Blue"]["wins"] == 2 and other["Blue"]["rank"] == 1 and len(other) == 4
    # The game's case and spacing don't matter.
    assert board(client, "  " + game.upper())["items"] == board(client, game)["items"]


def test_forfeits_and_byes_do_not_rate(client, db_engine, game):
    played = PlayedTournament(game, ["Ace", "Bee", "Cat", "Dot"]).start()
    semi = played.playable()[0]
    quitter, walkover = played.name(semi["team1_id"]), played.name(semi["team2_id"])
    played.run("decide_disqualify", semi["team1_id"])  # its open semifinal is forfeited to the opponent
    played.play_out().write(db_engine)
    # Three teams: the top seed has a bye to the final.
    play_tournament(db_engine, game + " byes", ["Top", "Mid", "Low"])

    items = by_team(board(client, game)["items"])
    assert quitter not in items
    assert items[walkover]["matches"] == 1  # only the final it played
    byes = by_team(board(client, game + " byes")["items"])
    assert byes["Top"]["matches"] == 1 and byes["Top"]["wins"] == 1
    assert sum(item["matches"] for item in byes.values()) == 4  # two matches, two sides each


def test_only_completed_and_archived_tournaments_count(client, db_engine, game):
    play_tournament(db_engine, game, ["Done", "Over"])
    PlayedTournament(game, ["Archived", "Past"]).start().play_out().write(db_engine, state="ARCHIVED")
    PlayedTournament(game, ["Running", "Still", "More", "Yet"]).start().play_out(
        until=lambda p: len(p.playable()) == 1).write(db_engine)  # ACTIVE, a semifinal played
    PlayedTournament(game, ["Gone", "Away"]).start().write(db_engine, state="CANCELLED")
    PlayedTournament(game, ["Drafted", "Later"]).write(db_engine, state="DRAFT")

    assert {item["team"] for item in board(client, game)["items"]} == {"Done", "Over", "Archived", "Past"}


def fresh_board(app, game):
    """The board computed from nothing, with a cache of its own."""
    with app.app_context():
        board = leaderboard.board_of(game, leaderboard.BoardCache())
        return {key: (rating.mu, rating.sigma, rating.matches) for key, rating in board.items()}


def cached_board(client, app, game):
    board(client, game)
    with app.app_context():
        cached = leaderboard.board_of(game, app.extensions["leaderboard"])
        return {key: (rating.mu, rating.sigma, rating.matches) for key, rating in cached.items()}


def test_a_newly_completed_tournament_is_folded_into_the_cached_board(client, app, db_engine, game):
    play_tournament(db_engine, game, ["Old", "Timer", "New", "Comer"])
    before = board(client, game)["items"]
    play_tournament(db_engine, game, ["Timer", "Old", "Comer", "New"])

    after = by_team(board(client, game)["items"])
    assert len(before) == 4 and after["Old"]["matches"] == 4 and after["Old"]["mu"] != by_team(before)["Old"]["mu"]
    assert cached_board(client, app, game) == fresh_board(app, game)


def test_a_tournament_seen_late_goes_in_its_place_by_completion(client, app, db_engine, game):
    """The registry can show a tournament COMPLETED after one that completed later: the board is
    then folded again in completion order, not appended to."""
    earlier = PlayedTournament(game, ["Ann", "Bob"]).start().play_out()
    time.sleep(0.01)  # completion times are in milliseconds: the two must not tie
    later = PlayedTournament(game, ["Bob", "Ann"]).start().play_out()
    later.write(db_engine)
    board(client, game)
    earlier.write(db_engine)

    assert cached_board(client, app, game) == fresh_board(app, game)
    history = client.get(f"/api/v1/leaderboard/teams/Ann?game={quote(game)}").get_json()["history"]
    assert [h["tournament_id"] for h in history] == [earlier.id, later.id]


def test_pages_walk_the_whole_board_in_order(client, db_engine, game):
    names = [f"Team {n}" for n in range(8)]
    play_tournament(db_engine, game, names)
    whole = board(client, game)["items"]
    walked, cursor = [], None
    while True:
        page = board(client, game, limit=3, **({"cursor": cursor} if cursor else {}))
        walked += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == whole and len(whole) == 8
    assert [item["rank"] for item in walked] == list(range(1, 9))
    assert [item["mu"] for item in whole] == sorted((item["mu"] for item in whole), reverse=True)


def test_a_team_history_is_its_rating_after_each_match(client, db_engine, game):
    play_tournament(db_engine, game, ["Red  Fox", "Owl"])
    play_tournament(db_engine, game, ["Hawk", "red fox"], winner_of=lambda one, two: two)

    response = client.get(f"/api/v1/leaderboard/teams/{quote('RED FOX')}", query_string={"game": game})

    assert response.status_code == 200
    team = response.get_json()
    assert team["team"] == "red fox" and team["matches"] == 2 and team["rank"] == 1 and team["game"] == game
    assert [(h["opponent"], h["result"]) for h in team["history"]] == [("Owl", "win"), ("Hawk", "win")]
    assert team["history"][-1]["mu"] == team["mu"] and team["history"][0]["mu"] < team["mu"]


@pytest.mark.parametrize("query, field", [
    ({}, "game"), ({"game": ""}, "game"), ({"game": "x" * 51}, "game"), ({"game": "a\x00b"}, "game"),
    ({"game": "chess", "limit": "0"}, "limit"), ({"game": "chess", "limit": "1e3"}, "limit"),
    ({"game": "chess", "cursor": "not-a-cursor"}, "cursor"), ({"game": "chess", "cursor": "WzEsMl0="}, "cursor"),
    ({"game": "chess", "cursor": "\u00e9"}, "cursor"),
])
def test_the_leaderboard_refuses_bad_queries(client, query, field):
    response = client.get("/api/v1/leaderboard", query_string=query)
    assert_error(response, 400, "invalid_input")
    assert field in response.get_json()["error"]["fields"]


def test_a_team_history_refuses_bad_names_and_answers_404_for_unknown_teams(client, db_engine, game):
    play_tournament(db_engine, game, ["Known", "Other"])
    assert_error(client.get(f"/api/v1/leaderboard/teams/Known"), 400, "invalid_input")  # no game
    assert_error(client.get(f"/api/v1/leaderboard/teams/{'x' * 101}?game={quote(game)}"), 400, "invalid_input")
    assert_error(client.get(f"/api/v1/leaderboard/teams/a%01b?game={quote(game)}"), 400, "invalid_input")
    assert_error(client.get(f"/api/v1/leaderboard/teams/Unknown?game={quote(game)}"), 404, "team_not_found")
    assert client.get(f"/api/v1/leaderboard/teams/known?game={quote(game)}").status_code == 200


def test_a_team_whose_name_holds_a_slash_has_its_history(client, db_engine, game):
    play_tournament(db_engine, game, ["AC/DC", "Queen"])
    for path in ("AC/DC", quote("ac/dc", safe="")):
        response = client.get(f"/api/v1/leaderboard/teams/{path}", query_string={"game": game})
        assert response.status_code == 200 and response.get_json()["team"] == "AC/DC"


def test_games_lists_games_with_ended_tournaments(client, db_engine, game):
    play_tournament(db_engine, game, ["One", "Two"])
    play_tournament(db_engine, game, ["One", "Two"])
    items = client.get("/api/v1/leaderboard/games").get_json()["items"]
    assert {"game": game, "tournaments": 2} in items
