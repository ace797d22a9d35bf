"""The gateway's kept routes (orchestrator/routes.py): a tournament's server address is read from
the registry once per ROUTE_CACHE_SECONDS, yet a server that moved is reached at once and one that
stopped being routed to is refused within that bound.

The moves here are made as another orchestrator process would make them (a plain UPDATE of the
registry), so the orchestrator under test hears of them only from the registry."""
import os
import time

import sqlalchemy as sa

from shared.db.tables import tournaments
from tests.e2e.helpers import server_of
from tests.support.api import make_tournament, ok
from tests.support.processes import Proc, free_port, pid_alive, wait_http, wait_until


def route_elsewhere(db_engine, tid, endpoint):
    with db_engine.begin() as conn:
        conn.execute(sa.update(tournaments).where(tournaments.c.id == tid).values(endpoint=endpoint))


def test_a_server_restarted_on_another_port_is_reached_at_once(start_orchestrator, platform_env, database_url,
                                                               db_engine, tmp_path):
    # Kept far longer than the test: only the refused connection can make the gateway look again.
    api = start_orchestrator(START_SUPERVISOR="0", ROUTE_CACHE_SECONDS="600").api
    tid = make_tournament(api, "REGISTRATION", teams=2, max_teams=8)["id"]
    ok(api.get(f"/t/{tid}/api/state"))  # the route is kept from here on
    pid, host, _port = server_of(database_url, tid)
    os.kill(pid, 9)
    assert wait_until(lambda: not pid_alive(pid))

    port = free_port()
    moved = Proc(["tournament", "--id", tid, "--port", str(port)], platform_env, str(tmp_path / "moved.log"))
    try:
        wait_http(f"http://{host}:{port}/api/state", process=moved.process)
        route_elsewhere(db_engine, tid, f"{host}:{port}")
        assert len(ok(api.get(f"/t/{tid}/api/teams"))["items"]) == 2
        # A write goes through once, with its body, although its first connection was refused.
        ok(api.post(f"/t/{tid}/api/teams", {"name": "Latecomers"}), 201)
        names = [team["name"] for team in ok(api.get(f"/t/{tid}/api/teams"))["items"]]
        assert names.count("Latecomers") == 1 and len(names) == 3
    finally:
        moved.stop()


def test_a_server_no_longer_routed_to_is_refused_within_the_routes_lifetime(start_orchestrator, db_engine):
    api = start_orchestrator(START_SUPERVISOR="0", ROUTE_CACHE_SECONDS="1").api
    tid = make_tournament(api, "REGISTRATION", teams=0, max_teams=8)["id"]
    ok(api.get(f"/t/{tid}/api/state"))
    # Another process stopped routing to the server (a failed health check), which still answers.
    route_elsewhere(db_engine, tid, None)
    time.sleep(1.2)
    answer = api.get(f"/t/{tid}/api/state")
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "server_unavailable"


def test_a_dead_server_is_503_with_its_route_kept(start_orchestrator, database_url):
    api = start_orchestrator(START_SUPERVISOR="0", ROUTE_CACHE_SECONDS="600").api
    tid = make_tournament(api, "REGISTRATION", teams=0, max_teams=8)["id"]
    ok(api.get(f"/t/{tid}/api/state"))
    pid, _host, _port = server_of(database_url, tid)
    os.kill(pid, 9)
    assert wait_until(lambda: not pid_alive(pid))
    for method in ("get", "post"):
        answer = getattr(api, method)(f"/t/{tid}/api/state")
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "server_unavailable", method
