"""With PostgreSQL unreachable both apps answer 503 `database_unavailable` with Retry-After, in the
error envelope (streams included), and serve again once it is back. A gateway that keeps the
tournament's route and the caller's login goes on answering the server's reads from its memory.

The test runs its own throwaway PostgreSQL cluster (initdb + pg_ctl on a free port, in a temporary
directory) so it can stop and start it; the run's shared PostgreSQL is never touched.
"""
import glob
import os
import shutil
import subprocess
import tempfile

import pytest
import requests
import sqlalchemy as sa

from shared.db.tables import tournament_servers
from shared.identity import sign
from tests.conftest import GATEWAY_SECRET
from tests.support.api import Api, make_tournament, ok
from tests.support.processes import free_port, wait_until


class ThrowawayPostgres:
    """A PostgreSQL cluster of one test's own. As root it runs as the `postgres` user, which
    initdb requires."""

    def __init__(self):
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
        assert versions, "PostgreSQL's server binaries are needed (Debian package postgresql)"
        self.bin = os.path.dirname(versions[-1])
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="outage-pg-")
        self.as_user = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data = os.path.join(self.dir, "data")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/platform"
        self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def _run(self, tool, *args):
        subprocess.run([*self.as_user, os.path.join(self.bin, tool), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def start(self):
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", self.data, "-o", options, "-l", os.path.join(self.dir, "log"), "-w", "start")

    def stop(self, mode="fast"):
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def create_database(self):
        admin = sa.create_engine(self.url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql("CREATE DATABASE platform")
        admin.dispose()

    def remove(self):
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def throwaway_postgres():
    cluster = ThrowawayPostgres()
    try:
        cluster.start()
        cluster.create_database()
        yield cluster
    finally:
        cluster.remove()


def assert_database_unavailable(response, what):
    assert response.status_code == 503, f"{what}: {response.status_code} {response.text[:300]}"
    assert response.headers.get("Content-Type", "").startswith("application/json"), what
    assert response.json()["error"]["code"] == "database_unavailable", f"{what}: {response.text[:300]}"
    assert int(response.headers["Retry-After"]) > 0, what


def stream_status(url, headers=None):
    """(status, first bytes) of a stream that should answer: an SSE stream is not read to its end."""
    with requests.get(url, headers={"Accept": "text/event-stream", **(headers or {})}, stream=True,
                      timeout=(5, 10)) as response:
        if response.status_code == 200:
            return response, next(response.iter_content(64))
        response.content  # an error body is finite
        return response, response.content


def test_a_database_outage_answers_503_everywhere_and_everything_recovers(throwaway_postgres, start_orchestrator):
    # The cluster first: torn down last, after the orchestrator has stopped its fleet through it.
    # This orchestrator keeps no route or login, so every gateway request needs the database.
    orchestrator = start_orchestrator(DATABASE_URL=throwaway_postgres.url, ROUTE_CACHE_SECONDS="0",
                                      LOGIN_CACHE_SECONDS="0")
    # A replica that keeps them far longer than the test: what it can answer without the database.
    keeping = start_orchestrator(DATABASE_URL=throwaway_postgres.url, START_SUPERVISOR="0",
                                 ROUTE_CACHE_SECONDS="600", LOGIN_CACHE_SECONDS="600")
    api = orchestrator.api
    auth = {"Authorization": api.session.headers["Authorization"]}
    tournament = make_tournament(api, state="ACTIVE", teams=4)
    tid, gateway = tournament["id"], f"/t/{tournament['id']}"
    match = ok(api.get(f"{gateway}/api/matches"))["items"][0]
    through_keeping = Api(keeping.url)
    through_keeping.session.headers.update(auth)
    ok(through_keeping.get(f"{gateway}/api/standings"))  # its route and login are kept from here on
    engine = sa.create_engine(throwaway_postgres.url)
    with engine.connect() as conn:
        host, port = conn.execute(sa.select(tournament_servers.c.host, tournament_servers.c.port)
                                  .where(tournament_servers.c.tournament_id == tid)).one()
    engine.dispose()
    server = f"http://{host}:{port}"
    result_path = f"/api/matches/{match['id']}/result"
    user_feed = f"/api/v1/events/user/{api.user['id']}"

    def signed_result():
        headers = sign(GATEWAY_SECRET, tid, "POST", result_path, {"id": api.user["id"], "username": "org"},
                       ["organizer"])
        return requests.post(server + result_path, json={"winner": match["team1_id"]}, headers=headers, timeout=10)

    throwaway_postgres.stop()
    assert wait_until(lambda: api.get("/readyz").status_code == 503, timeout=15)

    requests_to_try = {
        "list": lambda: api.get("/api/v1/tournaments"),
        "get": lambda: api.get(f"/api/v1/tournaments/{tid}"),
        "create": lambda: api.post("/api/v1/tournaments", {"name": "Cup", "game": "chess"}),
        "login": lambda: api.anonymous().post("/api/v1/auth/login", {"username": "nobody", "password": "x" * 10}),
        "gateway GET": lambda: api.get(f"{gateway}/api/standings"),
        # A logged-in browser's page: its error page can't say who is logged in, so the envelope answers.
        "home page": lambda: api.get("/", headers={"Accept": "text/html"}),
        "gateway result POST": lambda: api.post(f"{gateway}{result_path}", {"winner": match["team1_id"]}),
        "server result POST": signed_result,
    }
    for what, call in requests_to_try.items():
        assert_database_unavailable(call(), what)
    page = api.anonymous().get(f"/tournaments/{tid}", headers={"Accept": "text/html"})
    assert page.status_code == 503 and page.headers["Content-Type"].startswith("text/html")
    assert int(page.headers["Retry-After"]) > 0 and "can&#39;t be reached" in page.text
    feeds = {"global feed": (orchestrator.url + "/api/v1/events/global", None),
             "tournament feed": (orchestrator.url + f"/api/v1/events/tournaments/{tid}", None),
             "user feed": (orchestrator.url + user_feed, auth),
             "server feed": (server + "/api/events", None)}
    for what, (url, headers) in feeds.items():
        assert_database_unavailable(stream_status(url, headers)[0], what)
    assert ok(requests.get(server + "/api/state", timeout=5))["seq"] > 0  # its reads are from memory
    # Through a gateway that knows the route and the caller, those reads go on; a write reaches
    # the server, which refuses it for the outage itself.
    assert len(ok(through_keeping.get(f"{gateway}/api/standings"))["items"]) == 4
    assert_database_unavailable(through_keeping.post(f"{gateway}{result_path}", {"winner": match["team1_id"]}),
                                "gateway result POST, route and login kept")

    throwaway_postgres.start()
    assert wait_until(lambda: api.get("/readyz").status_code == 200, timeout=15)
    assert wait_until(lambda: api.get("/api/v1/tournaments").status_code == 200, timeout=15)
    assert ok(api.get(f"/api/v1/tournaments/{tid}"))["state"] == "ACTIVE"
    ok(api.post("/api/v1/tournaments", {"name": "Cup", "game": "chess"}), 201)
    assert api.anonymous().post("/api/v1/auth/login", {"username": "nobody", "password": "x" * 10}).status_code == 401
    for what, (url, headers) in feeds.items():
        response, first = stream_status(url, headers)
        assert response.status_code == 200 and first.startswith(b":"), f"{what}: {response.status_code} {first!r}"
    recorded = ok(api.post(f"{gateway}{result_path}", {"winner": match["team1_id"]}))
    assert recorded["status"] == "completed" and recorded["winner"] == match["team1_id"]
    ok(api.get(f"{gateway}/api/standings"))
