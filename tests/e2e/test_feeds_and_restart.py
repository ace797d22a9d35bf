"""Feeds as a browser sees them: through the gateway, and idle."""
import time

from tests.support.api import make_tournament, ok
from tests.support.sse import SSEClient


def test_the_gateway_streams_a_tournament_servers_own_feed(api):
    tournament = make_tournament(api, state="REGISTRATION", teams=2, max_teams=4)
    stream = SSEClient(api.url(f"/t/{tournament['id']}/api/events"), last_event_id=0)
    assert stream.status_code == 200 and stream.headers["X-Accel-Buffering"] == "no"
    replayed = stream.collect(4)
    assert [e["event"] for e in replayed] == ["tournament_published", "state_changed",
                                              "team_registered", "team_registered"]
    # Live through the proxy, not buffered until the stream ends.
    ok(api.post(f"/t/{tournament['id']}/api/teams", {"name": "Late Comers"}), 201)
    live = stream.next_event(timeout=5)
    assert live["id"] == 5 and live["data"]["team"]["name"] == "Late Comers"
    stream.close()


def test_an_idle_feed_sends_heartbeats(api):
    # The test platform runs with SSE_HEARTBEAT_SECONDS=2 (production: 15).
    feed = SSEClient(api.url("/api/v1/events/global"))
    time.sleep(2.6)
    feed.close()
    assert ": heartbeat" in feed.comments and feed.comments[0] == ": connected"
