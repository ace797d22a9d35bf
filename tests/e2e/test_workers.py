"""Several gunicorn workers behind one port: any worker may serve any request."""
from tests.e2e.helpers import server_of
from tests.support.api import make_tournament, ok, play_round
from tests.support.processes import pid_alive, wait_until
from tests.support.sse import SSEClient


def test_two_workers_share_the_fleet_the_feeds_and_one_supervisor(start_orchestrator, database_url):
    orchestrator = start_orchestrator(WEB_CONCURRENCY="2")
    api = orchestrator.api
    tournament = make_tournament(api, state="ACTIVE", teams=4)
    tid = tournament["id"]
    # Requests land on either worker; the viewers too, each worker relaying from its own subscription.
    viewers = [SSEClient(api.url(f"/api/v1/events/tournaments/{tid}"), last_event_id=0) for _ in range(4)]
    play_round(api, tid)
    play_round(api, tid)
    assert ok(api.get(f"/t/{tid}/api/state"))["state"] == "COMPLETED"
    for viewer in viewers:
        events = viewer.until(lambda e: e["event"] == "tournament_completed")
        assert [e["id"] for e in events] == list(range(1, len(events) + 1))
        viewer.close()
    servers = ok(api.get("/api/v1/servers"))
    assert servers["supervisor"] is not None
    pid, _host, _port = server_of(database_url, tid)
    ok(api.post(f"/api/v1/tournaments/{tid}/archive"))  # whichever worker started it
    assert wait_until(lambda: not pid_alive(pid), timeout=15)
