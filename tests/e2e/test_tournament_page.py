"""The tournament page through a real orchestrator's gateway and its spawned server: the page and
its stylesheet are reached under /t/<id>/, and what a team typed shows as text."""
from urllib.parse import urljoin

from bs4 import BeautifulSoup

from tests.support.api import make_tournament, ok, play_round

XSS = "<script>alert(1)</script>"


def test_the_page_and_its_stylesheet_through_the_gateway(orchestrator):
    api = orchestrator.api
    tid = make_tournament(api, "REGISTRATION", teams=3, max_teams=4, name="Gateway Cup")["id"]
    ok(api.post(f"/t/{tid}/api/teams", {"name": XSS}), 201)
    anonymous = api.anonymous()

    response = anonymous.get(f"/t/{tid}/")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]  # no inline script or style
    soup = BeautifulSoup(response.text, "html.parser")
    # Scripts only as files the platform serves (the page's own, by a relative URL): nothing typed.
    for script in soup.find_all("script"):
        assert script.get("src") and not script.string
        js = anonymous.get(urljoin(f"/t/{tid}/", script["src"]))
        assert js.status_code == 200 and "javascript" in js.headers["Content-Type"]
    assert XSS in [" ".join(n.get_text().split()) for n in soup.select(".team-list .team-name")]
    css = anonymous.get(f"/t/{tid}/" + soup.select_one('link[rel="stylesheet"]')["href"])
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    # Without the slash the page's relative links would miss the prefix: it redirects to it.
    bare = anonymous.get(f"/t/{tid}", allow_redirects=False)
    assert bare.status_code in (301, 308) and bare.headers["Location"] == f"/t/{tid}/"

    ok(api.post(f"/t/{tid}/api/start"))
    play_round(api, tid)
    soup = BeautifulSoup(anonymous.get(f"/t/{tid}/?round=w2").text, "html.parser")
    assert [h.get_text() for h in soup.select(".round-column h4")] == ["Semifinals", "Final"]
    assert soup.select_one(".round-column.is-selected")["id"] == "round-w2"
    assert len(soup.select("#round-w1 .winner")) == 2
    # Its live parts refresh through the gateway too, in one request: the bracket, standings, head.
    driver = soup.select_one("#bracket")
    parts = BeautifulSoup(anonymous.get(f"/t/{tid}/" + driver["hx-get"]).text, "html.parser")
    assert str(parts.find(id="bracket")) == str(driver)
    assert parts.find(id="standings") is not None and parts.find(id="tournament-head") is not None
