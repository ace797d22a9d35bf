"""Ending a tournament is idempotent: callers racing to cancel (or archive) all get the ended
tournament, and the one server is stopped once."""
import threading

import requests

from tests.e2e.helpers import server_of
from tests.support.api import make_tournament, ok
from tests.support.processes import pid_alive, wait_until

CALLERS = 6


def race(api, bases, path):
    """POST `path` from CALLERS clients at once, spread over the orchestrators at `bases`; their responses."""
    answers = [None] * CALLERS
    barrier = threading.Barrier(CALLERS)

    def call(index):
        with requests.Session() as session:
            session.headers["Authorization"] = api.session.headers["Authorization"]
            barrier.wait()
            answers[index] = session.post(bases[index % len(bases)] + path, json={}, timeout=60)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return answers


def assert_all_ended(answers, state):
    for answer in answers:
        assert answer is not None and answer.status_code == 200, answer is not None and answer.text[:300]
        assert answer.json()["state"] == state, answer.text[:300]


def test_racing_cancels_and_archives_all_get_the_ended_tournament(start_orchestrator, database_url):
    # Two orchestrators on one database, as a rolling restart or replicas have them.
    orchestrators = [start_orchestrator(), start_orchestrator()]
    api, bases = orchestrators[0].api, [o.url for o in orchestrators]
    active = make_tournament(api, "ACTIVE", teams=2, max_teams=2)["id"]
    pid, _host, _port = server_of(database_url, active)
    assert_all_ended(race(api, bases, f"/api/v1/tournaments/{active}/cancel"), "CANCELLED")
    assert wait_until(lambda: not pid_alive(pid), timeout=15)
    # Asked again later: still the ended tournament, and no server comes back for it.
    assert ok(api.post(f"/api/v1/tournaments/{active}/cancel"))["state"] == "CANCELLED"
    assert server_of(database_url, active)[0] is None
    assert ok(api.get(f"/t/{active}/api/state"))["state"] == "CANCELLED"

    done = make_tournament(api, "ACTIVE", teams=2, max_teams=2)["id"]
    final = ok(api.get(f"/t/{done}/api/matches"))["items"][0]
    ok(api.post(f"/t/{done}/api/matches/{final['id']}/result", {"winner": final["team1_id"]}))
    assert wait_until(lambda: ok(api.get(f"/api/v1/tournaments/{done}"))["state"] == "COMPLETED")
    assert_all_ended(race(api, bases, f"/api/v1/tournaments/{done}/archive"), "ARCHIVED")
    assert ok(api.post(f"/api/v1/tournaments/{done}/archive"))["state"] == "ARCHIVED"
    # Another end of an ended tournament is still refused.
    assert api.post(f"/api/v1/tournaments/{done}/cancel").status_code == 409
    assert server_of(database_url, done)[0] is None
