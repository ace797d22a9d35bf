"""The pages of ended tournaments through a real orchestrator: its server has stopped, and the page,
its round tabs, its stylesheet and the venue view are answered from the final snapshot, drawn by
the server's own templates before it stopped."""
import json

import sqlalchemy as sa
from bs4 import BeautifulSoup

from shared.db.tables import tournaments
from tests.e2e.helpers import server_of
from tests.support.api import make_tournament, ok, play_round
from tests.support.processes import pid_alive, wait_until

XSS = "<script>alert(1)</script>"
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}



def _ended(live_response):
    """A COMPLETED page as it reads once archived: its state named so, and none of what kept it
    live (htmx and the live glue, htmx's config, the stream on <body>, `data-state`)."""
    soup = _soup(live_response)
    for tag in soup.select('script[src*="/vendor/"], script[src$="live.js"], meta[name="htmx-config"]'):
        tag.decompose()
    for attribute in ("hx-ext", "sse-connect", "data-root"):
        del soup.body[attribute]
    for tag in soup.select("[data-state]"):
        tag["data-state"] = "ARCHIVED"
    return _spaced(soup.decode().replace("Completed", "Archived").replace("state-completed", "state-archived"))


def _spaced(html):
    """`html` with every run of white space one space (what was taken out leaves blank lines)."""
    return " ".join(html.split())

def _soup(response):
    assert response.status_code == 200, f"{response.status_code} {response.text[:300]}"
    assert response.headers["Content-Type"].startswith("text/html")
    return BeautifulSoup(response.text, "html.parser")


def _texts(soup, selector):
    return [" ".join(node.get_text().split()) for node in soup.select(selector)]


def _stopped(database_url, tid, pid):
    assert wait_until(lambda: not pid_alive(pid), timeout=15), "the ended tournament's server still runs"
    assert server_of(database_url, tid)[0] is None


def test_an_archived_tournament_keeps_its_page_tabs_stylesheet_and_venue_view(api, database_url):
    tid = make_tournament(api, "REGISTRATION", teams=3, max_teams=4, name="Final Cup")["id"]
    gateway = f"/t/{tid}"
    ok(api.post(f"{gateway}/api/teams", {"name": XSS}), 201)
    anonymous = api.anonymous()
    assert anonymous.get(f"{gateway}/api/pages").status_code == 404  # the snapshot's, not the public's
    ok(api.post(f"{gateway}/api/start"))
    for _ in range(2):
        play_round(api, tid)
    live = {query: anonymous.get(f"{gateway}/{query}") for query in ("", "?round=w1", "?round=w2", "?follow=current")}
    live_css = anonymous.get(f"{gateway}/static/bracket.css")
    pid, _, _ = server_of(database_url, tid)
    ok(api.post(f"/api/v1/tournaments/{tid}/archive"))
    _stopped(database_url, tid, pid)

    page = _soup(anonymous.get(f"{gateway}/"))
    assert page.select_one("h1").get_text() == "Final Cup"
    assert _texts(page, ".meta .state") == ["Archived"]
    assert _texts(page, ".champion strong") == ["Team 1"]
    assert XSS in _texts(page, ".standings td, .standings th")
    assert not page.select("form")  # read-only, for anyone
    assert all(script.get("src") and not script.string for script in page.find_all("script"))  # no inline script
    assert page.select_one("#round-w2.is-selected")  # as it opened when live: the last round
    # The same HTML the live server gave an anonymous viewer, but for the state it ended in (and
    # without what kept it live: nothing changes any more).
    assert _spaced(page.decode()) == _ended(live[""])

    first = _soup(anonymous.get(f"{gateway}/?round=w1"))
    assert first.select_one(".round-column.is-selected")["id"] == "round-w1"
    assert [a["href"] for a in first.select(".round-tabs a")] == ["?round=w1#bracket", "?round=w2#bracket"]
    assert first.select_one('.round-tabs a[aria-current="true"]')["href"] == "?round=w1#bracket"
    assert _spaced(first.decode()) == _ended(live["?round=w1"])
    # An unknown tab is the page as it opens, as on the live server.
    unknown = _soup(anonymous.get(f"{gateway}/?round=nope"))
    assert unknown.select_one(".round-column.is-selected")["id"] == "round-w2"

    css = anonymous.get(f"{gateway}/{page.select_one('link[rel=stylesheet]')['href']}")
    assert css.status_code == 200 and css.headers["Content-Type"] == live_css.headers["Content-Type"]
    assert css.content == live_css.content
    assert "default-src 'self'" in anonymous.get(f"{gateway}/").headers["Content-Security-Policy"]

    venue = _soup(anonymous.get(f"{gateway}/?follow=current"))
    assert _texts(venue, ".champion strong") == ["Team 1"]
    assert _texts(venue, ".empty") == ["No match to play right now."]
    assert venue.select('meta[http-equiv="refresh"]') == []  # it ended: nothing to reload for
    assert _soup(live["?follow=current"]).select('meta[http-equiv="refresh"]') == []  # COMPLETED already

    # HEAD answers like GET, without a body.
    head = anonymous.session.head(anonymous.url(f"{gateway}/"), timeout=30)
    assert head.status_code == 200 and head.headers["Content-Type"].startswith("text/html") and not head.content

    # A browser asking for what was not kept gets the HTML 404 page; a JSON client the envelope.
    missing = anonymous.get(f"{gateway}/static/nothing.css", headers=HTML)
    assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("text/html")
    assert "only its page and api/state" in _texts(BeautifulSoup(missing.text, "html.parser"), "main p")[0]
    for path in ("static/nothing.css", "api/nothing", "api/pages"):
        refused = anonymous.get(f"{gateway}/{path}")
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found", path
    assert api.post(f"{gateway}/", {"name": "x"}).json()["error"]["code"] == "read_only"
    assert ok(api.get(f"{gateway}/api/state"))["state"] == "ARCHIVED"  # the JSON views as before


def test_a_cancelled_tournament_shows_its_bracket_as_it_stopped(api, database_url):
    tid = make_tournament(api, "ACTIVE", teams=8, max_teams=8, name="Stopped Cup",
                          format="double_elimination")["id"]
    gateway = f"/t/{tid}"
    for match in ok(api.get(f"{gateway}/api/matches"))["items"]:  # the winners' first round
        ok(api.post(f"{gateway}/api/matches/{match['id']}/result", {"winner": match["team1_id"]}))
    pid, _, _ = server_of(database_url, tid)
    ok(api.post(f"/api/v1/tournaments/{tid}/cancel"))
    _stopped(database_url, tid, pid)

    anonymous = api.anonymous()
    page = _soup(anonymous.get(f"{gateway}/"))
    assert _texts(page, ".meta .state") == ["Cancelled"]
    assert page.select(".champion") == [] and not page.select("form")
    tabs = [a["href"].split("=")[1].split("#")[0] for a in page.select(".round-tabs a")]
    assert len(tabs) >= 6 and {"w1", "l1"} <= set(tabs)
    for key in tabs:  # every tab the page links to was kept
        tab = _soup(anonymous.get(f"{gateway}/?round={key}"))
        assert tab.select_one(".round-column.is-selected")["id"] == f"round-{key}"
    assert len(page.select("#round-w1 .winner")) == 4  # the first round's results stand
    venue = _soup(anonymous.get(f"{gateway}/?follow=current"))
    assert _texts(venue, "h1") == ["Stopped Cup"]


def test_a_snapshot_kept_before_pages_were_still_gives_a_readable_page(api, database_url):
    tid = make_tournament(api, "ACTIVE", teams=4, max_teams=4, name="Old Cup")["id"]
    gateway = f"/t/{tid}"
    play_round(api, tid)
    play_round(api, tid)
    ok(api.post(f"/api/v1/tournaments/{tid}/archive"))
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            text = conn.execute(sa.select(tournaments.c.final_snapshot).where(tournaments.c.id == tid)).scalar()
            old = {k: v for k, v in json.loads(text).items() if k not in ("pages", "static")}
            conn.execute(tournaments.update().where(tournaments.c.id == tid).values(final_snapshot=json.dumps(old)))
        anonymous = api.anonymous()
        for query in ("", "?round=r1", "?follow=current"):
            page = _soup(anonymous.get(f"{gateway}/{query}", headers=HTML))
            assert _texts(page, "h1") == ["Old Cup"]
            assert "its page was not kept" in page.get_text()
            assert _texts(page, ".final-standings li")[0] == "Team 1"
            assert [li.get("value") for li in page.select(".final-standings li")] == ["1", "2", "3", "3"]
            links = [a["href"] for a in page.select("main ul a")]
            assert links == ["api/state", "api/teams", "api/matches", "api/standings", "api/bracket"]
            for link in links:
                assert anonymous.get(f"{gateway}/{link}").status_code == 200
        assert anonymous.get(f"{gateway}/static/bracket.css").status_code == 404

        with engine.begin() as conn:  # no snapshot at all (its capture failed): still a page
            conn.execute(tournaments.update().where(tournaments.c.id == tid).values(final_snapshot=None))
        page = _soup(anonymous.get(f"{gateway}/"))
        assert "Nothing of its bracket was kept." in page.get_text()
    finally:
        engine.dispose()


def test_a_tournament_cancelled_while_registering_says_so(api):
    tid = make_tournament(api, "REGISTRATION", teams=2, name="Never Played")["id"]
    ok(api.post(f"/api/v1/tournaments/{tid}/cancel"))
    page = _soup(api.anonymous().get(f"/t/{tid}/"))
    assert _texts(page, ".meta .state") == ["Cancelled"]
    assert _texts(page, ".empty") == ["It was cancelled before it started."]
    assert not page.select("form")  # no signup form once it is over
