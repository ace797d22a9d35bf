"""Nobody holds unbounded live streams: per logged-in user, per anonymous address, and per process,
on the orchestrator's feeds and on tournament servers' /api/events through the gateway alike."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.api import make_tournament
from tests.support.processes import wait_until
from tests.auth.helpers import unique


def refused(feed, status):
    """The error envelope of a stream refused with `status`, which must say when to retry."""
    assert feed.status_code == status, feed.status_code
    assert int(feed.headers["Retry-After"]) >= 1
    error = feed.response.json()["error"]
    assert error["code"] == "too_many_streams" and "retry" in error["message"], error
    feed.close()
    return error


@pytest.fixture
def capped(start_orchestrator):
    return start_orchestrator(SSE_STREAMS_PER_USER="2", SSE_STREAMS_PER_ADDRESS="3", SSE_STREAMS_TOTAL="7")


def test_streams_are_capped_per_address_per_user_and_per_process(capped):
    organizer = capped.api
    tid = make_tournament(organizer, "REGISTRATION", teams=0)["id"]
    anonymous = organizer.anonymous()
    held = []

    def open_feed(client, path):
        feed = client.feed(path)
        if feed.status_code == 200:
            held.append(feed)
        return feed

    try:
        # Anonymous viewers share their address's cap, the gateway's event stream included.
        for path in ("/api/v1/events/global", f"/api/v1/events/tournaments/{tid}", f"/t/{tid}/api/events"):
            assert open_feed(anonymous, path).status_code == 200, path
        refused(open_feed(anonymous, "/api/v1/events/global"), 429)
        refused(open_feed(anonymous, f"/t/{tid}/api/events"), 429)

        # Logged-in users are counted per user, not by the address they share with the others.
        alice, bob = organizer.as_user(unique("alice")), organizer.as_user(unique("bob"))
        assert open_feed(alice, f"/api/v1/events/user/{alice.user['id']}").status_code == 200
        assert open_feed(alice, f"/t/{tid}/api/events").status_code == 200
        refused(open_feed(alice, "/api/v1/events/global"), 429)
        assert open_feed(bob, "/api/v1/events/global").status_code == 200
        assert open_feed(bob, f"/api/v1/events/tournaments/{tid}").status_code == 200

        # Seven streams are all this process holds: anyone else waits, told when to retry.
        refused(open_feed(organizer, "/api/v1/events/global"), 503)

        # A viewer that leaves gives its slot back (noticed at the next heartbeat, 2 s here).
        held.pop(0).close()
        assert wait_until(lambda: open_feed(anonymous, "/api/v1/events/global").status_code == 200,
                          timeout=10, interval=0.5)
    finally:
        for feed in held:
            feed.close()


def test_a_burst_of_viewers_does_not_exhaust_the_database_pool(orchestrator):
    """More viewers than the database pool has connections (15) arrive at once, as after a restart,
    and all get their stream at once: a stream hands the request's connection back before its
    feed's first read (holding one while waiting for another deadlocked the pool for 30 s)."""
    api = orchestrator.api
    tid = make_tournament(api, "ACTIVE", teams=4)["id"]
    paths = [f"/api/v1/events/tournaments/{tid}"] * 36 + [f"/api/v1/events/user/{api.user['id']}"] * 4
    clients = [api if "/user/" in path else api.anonymous() for path in paths]
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(paths)) as pool:
        viewers = list(pool.map(lambda pair: pair[0].feed(pair[1]), zip(clients, paths)))
    waited = time.monotonic() - began
    try:
        assert [feed.status_code for feed in viewers] == [200] * len(viewers)
        assert waited < 15, f"the viewers waited {waited:.1f}s for their streams"
        assert api.anonymous().session.get(api.url("/api/v1/tournaments"), timeout=5).status_code == 200
    finally:
        for feed in viewers:
            feed.close()
