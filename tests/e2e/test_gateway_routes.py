"""The gateway's kept routes (orchestrator/routes.py): a tournament's server address is read from
the registry once per ROUTE_CACHE_SECONDS, yet a server that moved is reached at once and one that
stopped being routed to is refused within that bound.

The moves here are made as another orchestrator process would make them (a plain UPDATE of the
registry), so the orchestrator under test hears of them only from the registry."""
import os
import socket
import threading
import time

import sqlalchemy as sa

from shared.db.tables import tournaments
from tests.e2e.helpers import server_of
from tests.support.api import make_tournament, ok
from tests.support.processes import Proc, free_port, pid_alive, wait_http, wait_until
from tests.support.raw_http import read_head


def route_elsewhere(db_engine, tid, endpoint, **values):
    with db_engine.begin() as conn:
        conn.execute(sa.update(tournaments).where(tournaments.c.id == tid).values(endpoint=endpoint, **values))


class DroppingServer:
    """An address whose server reads each request and closes the connection without an answer, as
    a server stopping under a request does; `before_drop()` runs first (the registry moving on, as
    the archive that stops a server commits before it stops it). `methods`: what reached it."""

    def __init__(self, before_drop):
        self.before_drop, self.methods = before_drop, []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = "127.0.0.1:%d" % self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed
                return
            with client:
                head = read_head(client)
                if head:
                    self.methods.append(head.split(b" ", 1)[0].decode())
                    self.before_drop()

    def close(self):
        self._listener.close()


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


def test_a_read_whose_server_drops_it_goes_once_more_to_where_the_registry_says(start_orchestrator, database_url,
                                                                              db_engine):
    # Nothing kept: every request reads its route from the registry, as after a kept one expired.
    api = start_orchestrator(START_SUPERVISOR="0", ROUTE_CACHE_SECONDS="0").api
    tid = make_tournament(api, "REGISTRATION", teams=2, max_teams=8)["id"]
    _pid, host, port = server_of(database_url, tid)
    dropping = DroppingServer(lambda: route_elsewhere(db_engine, tid, f"{host}:{port}"))
    try:
        route_elsewhere(db_engine, tid, dropping.endpoint)
        # A write the connection dropped may have reached its server: never sent twice.
        answer = api.post(f"/t/{tid}/api/teams", {"name": "Latecomers"})
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "server_unavailable"
        assert dropping.methods == ["POST"]
        # A read is safe to repeat: the gateway asks the registry again and sends it there.
        route_elsewhere(db_engine, tid, dropping.endpoint)
        names = [team["name"] for team in ok(api.get(f"/t/{tid}/api/teams"))["items"]]
        assert dropping.methods == ["POST", "GET"] and names == ["Team 1", "Team 2"]
    finally:
        dropping.close()


def test_a_viewer_polling_as_the_tournament_ends_is_told_to_reload_the_kept_page(
        start_orchestrator, database_url, db_engine):
    """The race a viewer's page meets when its last refresh reaches the server as the archive stops
    it (a cancel or an archive: both stop it the same way): the read goes once more, finds the
    tournament ended, and gets the kept page's answer."""
    api = start_orchestrator(START_SUPERVISOR="0", ROUTE_CACHE_SECONDS="0").api
    tid = make_tournament(api, "ACTIVE", teams=2, max_teams=8)["id"]
    assert api.get(f"/t/{tid}/fragments/follow").status_code == 200
    ok(api.post(f"/api/v1/tournaments/{tid}/cancel"))
    assert server_of(database_url, tid)[0] is None
    # As the cancel left it, but with the route the viewer's request still took.
    dropping = DroppingServer(lambda: route_elsewhere(db_engine, tid, None))
    try:
        route_elsewhere(db_engine, tid, dropping.endpoint)
        for fragment in ("follow", "bracket?round=w1"):
            answer = api.anonymous().get(f"/t/{tid}/fragments/{fragment}")
            assert answer.status_code == 204, answer.text
            # htmx loads the page again: the kept one now.
            assert answer.headers["HX-Refresh"] == "true" and answer.content == b""
            route_elsewhere(db_engine, tid, dropping.endpoint)
        assert dropping.methods == ["GET", "GET"]
        page = api.anonymous().get(f"/t/{tid}/")
        assert page.status_code == 200 and "Cancelled" in page.text
    finally:
        dropping.close()
