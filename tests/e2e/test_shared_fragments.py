"""The orchestrator answers a tournament page's live fragments from its memory (orchestrator/
fragment_cache.py), with a real orchestrator, its relay and a spawned tournament server: one fetch
per change of the tournament, the same bytes for every viewer, nothing of one viewer's own shown to
another, and nothing kept once the server that rendered it is gone."""
import os
import time

from bs4 import BeautifulSoup

from tests.e2e.helpers import server_of
from tests.support.api import make_tournament, ok
from tests.support.processes import wait_until
from tests.support.sse import SSEClient

PARTS = "fragments/bracket?also=standings,head"
FAST_RESTARTS = {"RESTART_BACKOFF_BASE": "0.1", "RESTART_BACKOFF_CAP": "0.5", "SUPERVISE_INTERVAL": "0.3"}


def winners(html):
    return sorted(" ".join(w.get_text().split()) for w in BeautifulSoup(html, "html.parser").select(".winner"))


def test_viewers_share_one_fetch_per_seq_and_a_new_seq_is_fetched_fresh(orchestrator):
    api = orchestrator.api
    tid = make_tournament(api, "ACTIVE", teams=4, name="Shared Cup")["id"]
    alice, anonymous = api.as_user(f"alice-{tid}"), api.anonymous()

    first = anonymous.get(f"/t/{tid}/{PARTS}")
    second = alice.get(f"/t/{tid}/{PARTS}")
    assert first.status_code == second.status_code == 200
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
    assert second.content == first.content and winners(first.text) == []
    assert second.headers["Content-Type"] == first.headers["Content-Type"]

    # A result changes the bracket: the page's stream names the new seq, and whoever refetches
    # after hearing it gets the bracket with the winner, fetched once more.
    stream = SSEClient(orchestrator.url + f"/api/v1/events/page?tournament={tid}")
    match = ok(api.get(f"/t/{tid}/api/matches", params={"status": "pending"}))["items"][0]
    ok(api.post(f"/t/{tid}/api/matches/{match['id']}/result", {"winner": match["team1_id"]}))
    stream.until(lambda e: e["data"]["type"] == "match_result")
    stream.close()
    third, fourth = anonymous.get(f"/t/{tid}/{PARTS}"), alice.get(f"/t/{tid}/{PARTS}")
    assert (third.headers["X-Cache"], fourth.headers["X-Cache"]) == ("MISS", "HIT")
    assert third.content == fourth.content != first.content
    assert len(winners(third.text)) == 1

    # Whoever posted a result reads it back at once, without waiting for the relay to hear of it.
    match = ok(api.get(f"/t/{tid}/api/matches", params={"status": "pending"}))["items"][0]
    ok(api.post(f"/t/{tid}/api/matches/{match['id']}/result", {"winner": match["team1_id"]}))
    assert len(winners(api.get(f"/t/{tid}/{PARTS}").text)) == 2

    # Another round shown is another answer; an unknown fragment is a 404, never kept.
    other = anonymous.get(f"/t/{tid}/fragments/bracket?round=w2")
    assert other.headers["X-Cache"] == "MISS" and other.content != fourth.content
    for _ in range(2):
        missing = anonymous.get(f"/t/{tid}/fragments/nosuch")
        assert missing.status_code == 404 and missing.headers.get("X-Cache") == "MISS"


def test_what_depends_on_the_viewer_is_never_shared(orchestrator):
    api = orchestrator.api
    tid = make_tournament(api, "ACTIVE", teams=4, name="Own Cup")["id"]
    anonymous = api.anonymous()
    # The organizer's own parts first, then a stranger's: the stranger never gets the organizer's.
    for path in (f"/fragments/tournaments/{tid}", f"/t/{tid}/"):
        headers = {"X-Fragment": "results"} if path.startswith("/t/") else {}
        mine = api.get(path, headers=headers)
        theirs = anonymous.get(path, headers=headers)
        assert mine.status_code == theirs.status_code == 200
        assert "X-Cache" not in mine.headers and "X-Cache" not in theirs.headers
        assert mine.content != theirs.content
    organizer_panel = BeautifulSoup(api.get(f"/fragments/tournaments/{tid}").text, "html.parser")
    stranger_panel = BeautifulSoup(anonymous.get(f"/fragments/tournaments/{tid}").text, "html.parser")
    assert len(organizer_panel.select("form")) > len(stranger_panel.select("form"))


def test_a_fragment_of_a_stopped_server_is_not_served_on(start_orchestrator, database_url):
    orchestrator = start_orchestrator(FRAGMENT_CACHE_MAX_AGE="1", **FAST_RESTARTS)
    api = orchestrator.api
    tid = make_tournament(api, "ACTIVE", teams=4, name="Stopped Cup")["id"]
    kept = api.get(f"/t/{tid}/{PARTS}")
    assert api.get(f"/t/{tid}/{PARTS}").headers["X-Cache"] == "HIT"

    # Killed: by the time the kept answer is a second old it is asked afresh (here of the
    # restarted server), whether or not the server came back on the same address.
    pid, _host, _port = server_of(database_url, tid)
    os.kill(pid, 9)
    time.sleep(1.2)
    assert wait_until(lambda: api.get(f"/t/{tid}/api/state").status_code == 200, timeout=15)
    again = api.get(f"/t/{tid}/{PARTS}")
    assert again.status_code == 200 and again.headers["X-Cache"] == "MISS" and again.content == kept.content

    # Cancelled: the server is stopped for good and the fragment is no more.
    ok(api.post(f"/api/v1/tournaments/{tid}/cancel"))
    gone = api.get(f"/t/{tid}/{PARTS}")
    assert gone.status_code != 200 and gone.headers.get("X-Cache") is None
