"""The tournament's page (GET / of its server, /t/<id>/ through the gateway) as a browser without
JavaScript gets it: the teams while registering, then the bracket picture and standings of every
format, drawn from the same data the API answers; what users typed shows as text.

Each server runs in this process on the run's PostgreSQL and Redis (`make_server`, conftest.py).
"""
import re

import pytest
from bs4 import BeautifulSoup

from tests.api.helpers import ok, send

XSS = "<script>alert(1)</script>"


def no_typed_script(soup):
    """True when every <script> of the page is one of the server's own files (a src, no body):
    nothing anyone typed became a script element."""
    return all(re.fullmatch(r"(\.\./)*static/[a-z_]+\.js|/static/[a-z_]+\.js|/static/vendor/[^\s]+\.js", s.get("src", ""))
               and not s.string
               for s in soup.find_all("script"))


def started(client, names):
    """Register `names` as the organizer's entries and start; the team ids by name."""
    ids = {name: ok(send(client, "POST", "/api/teams", {"name": name}), 201)["id"] for name in names}
    ok(send(client, "POST", "/api/start", {}))
    return ids


def result(client, match_id, winner, scores=None):
    """The organizer's (final) result for a match."""
    return ok(send(client, "POST", f"/api/matches/{match_id}/result", {"winner": winner, "scores": scores}))


def play_open(client, pick=lambda match: match["team1_id"]):
    """Decide every match playable now, `pick` choosing the winner; how many were played."""
    matches = ok(client.get("/api/matches"))["items"]
    for match in matches:
        result(client, match["id"], pick(match))
    return len(matches)


def page(client, query=""):
    """The tournament page as a browser gets it, parsed."""
    response = client.get("/" + query)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def text(node):
    return " ".join(node.get_text(" ").split())


# The live parts of the page: their element's id, and the fragment each is drawn from.
LIVE_PARTS = {"tournament-head": "head", "teams": "teams", "bracket": "bracket", "standings": "standings"}


def assert_fragments_match(client, soup):
    """Every live part of the page is, element for element, its fragment now; and one element
    refreshes them all with one request per event (the others come out of its answer)."""
    shown = {element_id: soup.find(id=element_id) for element_id in LIVE_PARTS if soup.find(id=element_id)}
    for element_id, part in shown.items():
        answer = client.get(f"/fragments/{LIVE_PARTS[element_id]}")
        assert answer.status_code == 200 and answer.mimetype == "text/html"
        assert str(BeautifulSoup(answer.get_data(as_text=True), "html.parser").find(id=element_id)) == str(part)
    drivers = [tag for tag in soup.select("[hx-trigger]") if "sse:tournament" in tag["hx-trigger"]]
    assert len(drivers) == 1 and drivers[0]["hx-trigger"] == "sse:tournament, live:resync from:body"
    driver = drivers[0]
    refreshed = BeautifulSoup(client.get("/" + driver["hx-get"]).get_data(as_text=True), "html.parser")
    picked = [driver.get("hx-select", "#" + driver["id"])] + [
        s for s in driver.get("hx-select-oob", "").split(",") if s]
    assert sorted(picked) == sorted("#" + element_id for element_id in shown)
    for element_id, part in shown.items():
        assert str(refreshed.find(id=element_id)) == str(part)


def column_titles(soup, bracket):
    section = soup.select_one(f"section.bracket-{bracket}")
    return [text(h) for h in section.select(".round-column h4")] if section else []


def test_registration_lists_the_teams_and_shows_a_typed_script_as_text(make_server):
    client = make_server(name=f"Cup {XSS}", max_teams=8, description=f"Come {XSS}")
    for name in (XSS, "Fierce Dragons"):
        ok(send(client, "POST", "/api/teams", {"name": name, "players": [f"{XSS} jr"]}), 201)
    response = client.get("/")
    html = response.get_data(as_text=True)
    soup = BeautifulSoup(html, "html.parser")

    assert text(soup.h1) == f"Cup {XSS}"
    assert [text(n) for n in soup.select(".team-list .team-name")] == [XSS, "Fierce Dragons"]
    assert "Teams (2 of 8)" in text(soup)
    # Nothing anyone typed became markup: no script element, no event handler, no inline style
    # (the CSP allows neither inline scripts nor inline styles).
    assert no_typed_script(soup) and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not re.search(r"<[^>]+\s(on\w+|style)\s*=", html)
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert soup.select_one(".bracket-area") is None


def test_the_stylesheet_is_served_by_the_server_under_a_relative_path(make_server):
    client = make_server()
    soup = page(client)
    href = soup.select_one('link[rel="stylesheet"]')["href"]
    # Relative: under the gateway the page is /t/<id>/, so this is /t/<id>/static/bracket.css.
    assert href == "static/bracket.css"
    with client.get("/" + href) as css:
        assert css.status_code == 200 and css.mimetype == "text/css" and b".match-card" in css.data


def test_double_elimination_draws_both_brackets_and_the_reset_only_when_it_can_happen(make_server):
    client = make_server(format="double_elimination", max_teams=8)
    started(client, [f"Team {n}" for n in range(1, 9)])
    play_open(client)  # winners' round 1
    soup = page(client)
    assert [text(h) for h in soup.select(".bracket > h3")] == ["Winners' bracket", "Losers' bracket", "Grand final"]
    assert column_titles(soup, "winners") == ["Winners round 1", "Winners round 2", "Winners round 3"]
    assert column_titles(soup, "losers")[0] == "Losers round 1"
    # Connector lines join halving rounds only: the losers' bracket keeps its count every other round.
    assert soup.select_one(".bracket-winners.tree") and not soup.select_one(".bracket-losers.tree")
    assert column_titles(soup, "grand_final") == ["Grand final"]  # no reset drawn before it is possible
    assert "a reset match decides the title" in text(soup)
    # Round 1 winners show as winners; round 2 already names who comes through, with placeholders.
    first = soup.select_one("#round-w1 .match-card")
    assert text(first.select_one(".winner")) == "Team 1 W" and "Team 8" in text(first.select_one(".loser"))
    assert "Winner of Winners round 2, match 1" in text(soup.select_one("#round-w3"))

    while play_open(client, pick=lambda m: m["team2_id"] if m["id"] == "gf_1" else m["team1_id"]):
        soup = page(client)
        if "Grand final reset" in column_titles(soup, "grand_final"):
            break
    # The losers' side won the first final: the reset is drawn, with both finalists.
    reset = soup.select_one("#round-gf2 .match-card")
    assert reset is not None and len(reset.select(".team-name")) == 2
    play_open(client)
    soup = page(client)
    assert soup.select_one(".state").get_text() == "Completed" and "Champion:" in text(soup)


def test_a_winners_side_final_win_leaves_no_reset(make_server):
    client = make_server(format="double_elimination", max_teams=4)
    started(client, ["A", "B", "C", "D"])
    while play_open(client):
        pass
    soup = page(client)
    assert column_titles(soup, "grand_final") == ["Grand final"]
    assert "reset" not in text(soup.select_one(".bracket-grand_final")).lower()
    assert text(soup.select_one(".champion")) == "Champion: A"


def test_single_elimination_names_its_rounds_and_standings_rank_by_the_round_reached(make_server):
    client = make_server(max_teams=8, options={"third_place_match": True})
    started(client, [f"T{n}" for n in range(1, 9)])
    play_open(client)
    soup = page(client)
    assert [text(h) for h in soup.select(".bracket > h3")] == ["Main bracket", "Third place"]
    assert soup.select_one(".bracket-winners.tree") and not soup.select_one(".bracket-third_place.tree")
    titles = [text(h) for h in soup.select(".round-column h4")]
    assert titles[:3] == ["Quarterfinals", "Semifinals", "Final"] and "Third place" in titles
    assert text(soup.select_one(".standings caption")).startswith("Ranked by the round reached")


def test_round_robin_puts_each_result_in_its_cell_from_the_rows_side(make_server):
    client = make_server(format="round_robin", max_teams=4, options={"allow_draws": True})
    ids = started(client, ["Ana", "Ben", "Cy", "Di"])
    name = {team_id: n for n, team_id in ids.items()}
    matches = ok(client.get("/api/matches?round=1"))["items"]
    first, second = matches
    result(client, first["id"], first["team2_id"], [1, 2])
    result(client, second["id"], None, [1, 1])
    soup = page(client)
    table = soup.select_one(".cross-table")
    columns = [h["title"] for h in table.select("thead abbr")]
    rows = {text(r.select_one("th .team-name")): [text(td) for td in r.select("td")] for r in table.select("tbody tr")}
    assert columns == list(rows) and len(rows) == 4

    def cell(row_team, column_team):
        return rows[name[row_team]][columns.index(name[column_team])]
    assert cell(first["team2_id"], first["team1_id"]) == "W 2–1"
    assert cell(first["team1_id"], first["team2_id"]) == "L 1–2"
    assert cell(second["team1_id"], second["team2_id"]) == "D 1–1" == cell(second["team2_id"], second["team1_id"])
    assert cell(first["team1_id"], second["team1_id"]) == "·"  # still to play
    assert rows[name[first["team1_id"]]][columns.index(name[first["team1_id"]])] == "╳"
    caption = text(soup.select_one(".standings caption"))
    assert caption == ("Ranked by points (win 3, draw 1, loss 0), then head-to-head, Buchholz, "
                       "Sonneborn-Berger, seed.")
    top = soup.select_one(".standings tbody tr")
    assert text(top.select_one("th .team-name")) == name[first["team2_id"]]


def test_a_round_robin_of_seven_teams_or_more_has_its_rounds_for_phones_beside_the_table(make_server):
    small = make_server(format="round_robin", max_teams=6)
    started(small, [f"A{n}" for n in range(1, 7)])
    soup = page(small)
    assert soup.select_one(".cross-table") and not soup.select(".narrow-only, .wide-only, .round-tabs")
    big = make_server(format="round_robin", max_teams=8)
    started(big, [f"B{n}" for n in range(1, 9)])
    play_open(big)
    soup = page(big)
    assert soup.select_one(".wide-only .cross-table")  # wide screens keep the table
    rounds = soup.select(".narrow-only .round-column")
    assert [text(h) for h in soup.select(".narrow-only .round-column h4")][:2] == ["Round 1", "Round 2"]
    assert [text(a) for a in soup.select(".narrow-only .round-tabs a")][:2] == ["Round 1", "Round 2"]
    # The round being played is the one a phone shows first; each round lists its 4 matches.
    assert [r["id"] for r in rounds if "is-selected" in r["class"]] == ["round-r2"]
    assert all(len(r.select(".match-card")) == 4 for r in rounds[:2])
    # An ended tournament's kept pages answer those tabs too (the current one is the page itself).
    kept = ok(big.get("/api/pages"))["pages"]
    assert "round=r1" in kept and "round=r2" not in kept
    small_kept = ok(small.get("/api/pages"))["pages"]
    assert sorted(small_kept) == ["", "follow=current"]


def test_swiss_shows_its_rounds_one_at_a_time_by_tab_and_the_standings(make_server):
    client = make_server(format="swiss", max_teams=8, options={"swiss_rounds": 3})
    started(client, [f"S{n}" for n in range(1, 9)])
    play_open(client)
    soup = page(client)
    assert [text(h) for h in soup.select(".swiss-rounds h4")] == ["Round 1", "Round 2"]
    assert [text(a) for a in soup.select(".round-tabs a")] == ["Round 1", "Round 2"]
    # Without a choice the round being played is the one shown on a phone; ?round= picks another.
    assert soup.select_one('.round-tabs a[aria-current]')["href"] == "?round=r2#bracket"
    assert soup.select_one(".round-column.is-selected")["id"] == "round-r2"
    assert page(client, "?round=r1").select_one(".round-column.is-selected")["id"] == "round-r1"
    assert page(client, "?round=nonsense").select_one(".round-column.is-selected")["id"] == "round-r2"
    assert len(soup.select("#round-r1 .match-card .winner")) == 4
    assert "Buchholz" in text(soup.select_one(".standings caption"))
    assert len(soup.select(".standings tbody tr")) == 8


def test_group_playoff_shows_the_groups_then_the_playoff(make_server):
    client = make_server(format="group_playoff", max_teams=8, min_teams=4,
                         options={"groups": 2, "advance_per_group": 2})
    started(client, [f"G{n}" for n in range(1, 9)])
    soup = page(client)
    assert [text(h) for h in soup.select(".group h3")] == ["Group A", "Group B"]
    assert len(soup.select(".group .cross-table")) == 2
    assert "drawn when every group has finished" in text(soup.select_one(".playoff"))
    while not ok(client.get("/api/bracket"))["sections"][-1].get("bracket"):
        assert play_open(client)
    soup = page(client)
    group_rows = soup.select(".group .standings tbody tr")
    assert len(group_rows) == 8
    play_open(client)  # the semifinals: a playoff win must not count in a group's table
    soup = page(client)
    for group in soup.select(".group"):
        wins_in_table = {text(r.select_one("th .team-name")): sum(text(td).startswith("W") for td in r.select("td"))
                         for r in group.select(".cross-table tbody tr")}
        wins_in_standings = {text(r.select_one("th .team-name")): int(text(r.select("td")[1]))
                             for r in group.select(".standings tbody tr")}
        assert wins_in_standings == wins_in_table and sum(wins_in_table.values()) == 6
    playoff = soup.select_one(".playoff")
    assert [text(h) for h in playoff.select(".round-column h4")] == ["Semifinals", "Final"]
    assert len(playoff.select("#round-w1 .match-card .team-name")) == 4
    assert len(playoff.select("#round-w1 .match-card .winner")) == 2
    assert "Group" in [text(th) for th in soup.select("#standings thead th")]
    assert text(soup.select_one("#standings caption")).startswith("Playoff teams first")
    assert text(soup.select_one(".group .standings caption")).startswith("Group A standings. Ranked by points")


@pytest.mark.parametrize("fmt, teams, options", [
    ("single_elimination", 5, {"third_place_match": True}),
    ("double_elimination", 5, {}),
    ("double_elimination", 3, {"grand_final": "single"}),
    ("round_robin", 5, {"allow_draws": True}),
    ("swiss", 5, {"allow_draws": True, "swiss_rounds": 3}),
    ("group_playoff", 7, {"groups": 2, "advance_per_group": 2, "third_place_match": True}),
])
def test_every_stage_of_every_format_renders(make_server, fmt, teams, options):
    """From no team to the champion, byes, void matches and draws included: a page every time,
    each decided match drawn with its winner, and a typed script shown as text wherever the
    team's name appears (cards, cross-tables, standings, the champion)."""
    client = make_server(format=fmt, max_teams=8, min_teams=2, options=options)
    assert page(client).select_one(".empty")
    started(client, [XSS] + [f"P{n}" for n in range(2, teams + 1)])
    draw = options.get("allow_draws")
    played = 0
    while True:
        soup = page(client)
        assert no_typed_script(soup) and XSS in text(soup)
        assert_fragments_match(client, soup)
        completed = [m for s in ok(client.get("/api/bracket"))["sections"] for m in s["matches"]
                     if m["status"] == "completed" and m["winner"]]
        drawn = {card["id"] for card in soup.select(".match-card") if card.select_one(".winner")}
        assert {f"match-{m['id']}" for m in completed} <= drawn or fmt in ("round_robin", "group_playoff")
        if not play_open(client, pick=lambda m: None if draw and played % 3 == 0 else m["team2_id"]):
            break
        played += 1
    assert ok(client.get("/api/state"))["state"] == "COMPLETED"
    assert text(page(client).select_one(".champion")).startswith("Champion:")


def test_the_venue_screen_follows_the_matches_being_played(make_server):
    client = make_server(format="group_playoff", max_teams=8, min_teams=4, options={"groups": 2})
    started(client, [f"V{n}" for n in range(1, 9)])
    play_open(client)
    soup = page(client, "?follow=current")
    assert soup.select_one('meta[http-equiv="refresh"]')["content"] == "20"  # no JavaScript needed
    assert [text(h) for h in soup.select("main h2")] == ["Group A, round 2", "Group B, round 2"]
    open_now = ok(client.get("/api/matches"))["items"]
    assert sorted(card["id"] for card in soup.select(".match-card")) == sorted(f"match-{m['id']}" for m in open_now)
    assert page(client).select_one('.follow-link a')["href"] == "?follow=current"


def test_check_in_and_disqualification_show_on_the_page(make_server):
    client = make_server(max_teams=4, options={"check_in": True})
    ids = {name: ok(send(client, "POST", "/api/teams", {"name": name}), 201)["id"] for name in ("Ana", "Ben", "Cy")}
    ok(send(client, "POST", f"/api/teams/{ids['Ana']}/check-in", {}))
    badges = {text(li.select_one(".team-name")): text(li.select_one(".badge")) for li in page(client).select(".team-list li")}
    assert badges == {"Ana": "checked in", "Ben": "not checked in", "Cy": "not checked in"}
    ok(send(client, "POST", f"/api/teams/{ids['Ben']}/check-in", {}))
    ok(send(client, "POST", "/api/start", {}))  # Cy, not checked in, is unregistered
    ok(send(client, "POST", f"/api/teams/{ids['Ben']}/disqualify", {}))
    rows = {text(r.select_one(".team-name")): r for r in page(client).select(".standings tbody tr")}
    assert set(rows) == {"Ana", "Ben"}
    assert "disqualified" in rows["Ben"]["class"] and text(rows["Ben"].select_one(".badge")) == "disqualified"


@pytest.mark.parametrize("playing", [False, True], ids=["registration", "active"])
def test_the_page_embeds_the_chat_panel_and_links_the_chat_page_without_javascript(make_server, playing):
    client = make_server()
    if playing:
        started(client, ["C1", "C2"])
    soup = page(client)
    tournament_id = ok(client.get("/api/state"))["tournament_id"]
    chat = soup.select_one("section#chat")
    assert text(chat.h2) == "Chat"
    loader = chat.select_one("[hx-get]")
    assert loader["hx-get"] == f"/tournaments/{tournament_id}/chat/panel?back=tournament"
    assert loader["hx-trigger"] == "load"
    assert chat.select_one("a")["href"] == f"/tournaments/{tournament_id}/chat"  # what a page without JS offers
    assert "/static/chat.css" in [link["href"] for link in soup.select('link[rel="stylesheet"]')]
