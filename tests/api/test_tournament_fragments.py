"""The tournament page's live parts (GET /fragments/<name> of its server): the same partials the
page includes, the round the page shows kept, rendered once per change of the tournament whoever
asks, and the page's sections following the state.

Each server runs in this process on the run's PostgreSQL and Redis (`make_server`, conftest.py).
"""
from bs4 import BeautifulSoup

from tests.api.helpers import ok, send
from tests.api.test_tournament_pages import page, play_open, started, text
from tournament_service import pages


def fragment(client, name, query=""):
    response = client.get(f"/fragments/{name}{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/html" and response.headers["Cache-Control"] == "no-cache"
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def test_the_team_list_fragment_shows_a_new_team_and_its_check_in(make_server):
    client = make_server(max_teams=4, options={"check_in": True})
    assert text(fragment(client, "teams").select_one(".empty")) == "No team has signed up yet."
    team = ok(send(client, "POST", "/api/teams", {"name": "Ana"}), 201)
    assert text(fragment(client, "teams").select_one(".badge")) == "not checked in"
    ok(send(client, "POST", f"/api/teams/{team['id']}/check-in", {}))
    teams = fragment(client, "teams")
    assert text(teams.select_one(".team-name")) == "Ana" and text(teams.select_one(".badge")) == "checked in"
    assert text(teams.h2) == "Teams (1 of 4)"


def test_the_bracket_fragment_keeps_the_round_shown_and_moves_with_results(make_server):
    client = make_server(max_teams=4, min_teams=2)
    started(client, ["A", "B", "C", "D"])
    soup = page(client, "?round=w1")
    assert soup.select_one("#bracket")["hx-get"] == "fragments/bracket?also=standings%2Chead&round=w1"
    play_open(client)  # round 1 decided: the current round is now the final
    assert page(client).select_one("#bracket")["hx-get"] == "fragments/bracket?also=standings%2Chead&round=w2"
    bracket = fragment(client, "bracket", "?round=w1")
    assert bracket.select_one(".round-column.is-selected")["id"] == "round-w1"  # the viewer's tab stays
    final = bracket.select_one("#round-w2 .match-card")
    assert [text(n) for n in final.select(".team-name")] == ["A", "B"]  # the winners moved on
    # An unknown round is the current one, as on the page.
    assert fragment(client, "bracket", "?round=zz").select_one(".is-selected")["id"] == "round-w2"


def test_the_head_and_standings_fragments_follow_the_state_and_the_champion(make_server):
    client = make_server(max_teams=2, min_teams=2)
    assert fragment(client, "head").select_one("#tournament-head")["data-state"] == "REGISTRATION"
    started(client, ["A", "B"])
    assert fragment(client, "head").select_one("#tournament-head")["data-state"] == "ACTIVE"
    play_open(client)
    head = fragment(client, "head")
    assert head.select_one("#tournament-head")["data-state"] == "COMPLETED"
    assert text(head.select_one(".champion")) == "Champion: A"
    assert [text(n) for n in fragment(client, "standings").select("tbody .team-name")] == ["A", "B"]
    # The page's sections were drawn for the state it shows: what live.js compares the head with.
    assert page(client).select_one("#live-main")["data-state"] == "COMPLETED"


def test_the_venue_screen_refreshes_its_matches_from_a_fragment(make_server):
    client = make_server(max_teams=4, min_teams=2)
    started(client, ["A", "B", "C", "D"])
    soup = page(client, "?follow=current")
    assert soup.select_one("#follow")["hx-get"] == "fragments/follow"
    assert soup.select_one("noscript meta[http-equiv=refresh]")  # reloads itself only without JavaScript
    assert len(fragment(client, "follow").select(".match-card")) == 2
    play_open(client)
    cards = fragment(client, "follow").select(".match-card")
    assert len(cards) == 1 and [text(n) for n in cards[0].select(".team-name")] == ["A", "B"]


def test_several_fragments_come_in_one_answer_in_the_order_asked(make_server):
    client = make_server(max_teams=4)
    ok(send(client, "POST", "/api/teams", {"name": "Ana"}), 201)
    both = fragment(client, "teams", "?also=head")
    assert [tag["id"] for tag in both.find_all(recursive=False)] == ["teams", "tournament-head"]
    assert str(both.find(id="teams")) == str(fragment(client, "teams").find(id="teams"))


def test_an_unknown_fragment_is_a_404_in_the_error_envelope(make_server):
    client = make_server()
    for path in ("/fragments/results", "/fragments/head?also=results", "/fragments/head?also=" + ",".join(["head"] * 5)):
        response = client.get(path)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_a_fragment_is_rendered_once_per_change_whoever_asks(make_server, monkeypatch):
    """The herd: every viewer refetches after one event; only the first pays the rendering."""
    client = make_server(max_teams=4, min_teams=2)
    started(client, ["A", "B", "C", "D"])
    built = []
    real = pages.page_context
    monkeypatch.setattr(pages, "page_context", lambda t: built.append(t.seq) or real(t))
    first = [client.get("/fragments/bracket?round=w1").data for _ in range(20)]
    client.get("/fragments/standings")
    client.get("/fragments/bracket?round=w2")
    assert len(built) == 1 and len(set(first)) == 1
    play_open(client)
    after = client.get("/fragments/bracket?round=w1").data
    assert len(built) == 2 and after != first[0]
