"""Never two servers for one tournament, whoever asks; a busy server is not a dead one; several
orchestrators share one fleet; a clean stop is quick and quiet. All with real processes."""
import os
import signal
import subprocess
import sys
from datetime import datetime, timezone

import requests
import sqlalchemy as sa

from shared.db.tables import tournament_servers
from tests.e2e.helpers import fleet_entry, server_of, server_processes
from tests.support.api import make_tournament, ok
from tests.support.processes import ROOT, Proc, free_port, pid_alive, wait_http, wait_until

FAST = {"SUPERVISE_INTERVAL": "0.3", "RESTART_BACKOFF_BASE": "0.1", "RESTART_BACKOFF_CAP": "0.5"}


def one_server_each(pids):
    """Every tournament is served by exactly the process recorded for it, and by no other."""
    return all(server_processes(tid) == [pid] for tid, pid in pids.items())


def test_restart_is_for_failed_servers_only_and_never_doubles_one(start_orchestrator, database_url):
    api = start_orchestrator(**FAST).api
    tid = make_tournament(api, state="REGISTRATION", teams=1)["id"]
    pid = server_of(database_url, tid)[0]
    for _ in range(3):
        response = api.post(f"/api/v1/servers/{tid}/restart")
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "illegal_state"
        assert response.json()["error"]["fields"] == {"action": "restart", "state": "RUNNING"}
    assert not wait_until(lambda: server_processes(tid) != [pid], timeout=2)
    assert fleet_entry(api, tid)["pid"] == pid


def test_a_start_stops_a_process_its_row_still_records_before_starting_another(start_orchestrator, database_url,
                                                                              db_engine):
    # No sweep in this test: the start itself must not leave the old process behind.
    api = start_orchestrator(ORPHAN_GRACE="600", **FAST).api
    tid = make_tournament(api, state="REGISTRATION", teams=1)["id"]
    pid = server_of(database_url, tid)[0]
    # What an interrupted stop leaves: the row says the server is down, its process still serves.
    with db_engine.begin() as conn:
        conn.execute(sa.update(tournament_servers).where(tournament_servers.c.tournament_id == tid)
                     .values(status="BACKOFF", next_start_at=datetime.now(timezone.utc)))
    assert wait_until(lambda: server_of(database_url, tid)[0] not in (None, pid), timeout=15)
    assert not pid_alive(pid)
    assert wait_until(lambda: fleet_entry(api, tid)["status"] == "RUNNING", timeout=15)
    assert server_processes(tid) == [server_of(database_url, tid)[0]]


def test_the_supervisor_stops_servers_the_fleet_does_not_record(start_orchestrator, platform_env, database_url,
                                                               tmp_path):
    api = start_orchestrator(ORPHAN_GRACE="4", ORPHAN_SWEEP_EVERY="1", **FAST).api
    tid = make_tournament(api, state="REGISTRATION", teams=1)["id"]
    pid = server_of(database_url, tid)[0]
    port = free_port()
    # A second real server for the same tournament, as a bug (or a person) might start it.
    extra = Proc(["tournament", "--id", tid, "--port", str(port)], {**platform_env, "SERVER_TOKEN": "by-hand"},
                 str(tmp_path / "extra.log"))
    # A server of a tournament this database doesn't know: another deployment's, not ours to stop.
    elsewhere = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "run.py", "tournament",
                                  "--id", "t_elsewhere0"], cwd=tmp_path)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health", process=extra.process)
        assert sorted(server_processes(tid)) == sorted([pid, extra.pid])
        assert wait_until(lambda: not extra.alive(), timeout=20)
        assert server_processes(tid) == [pid]
        assert ok(api.get(f"/t/{tid}/api/state"))["teams_count"] == 1
        entry = fleet_entry(api, tid)
        assert entry["pid"] == pid and entry["restarts"] == 0
        assert elsewhere.poll() is None
    finally:
        extra.stop()
        elsewhere.kill()
        elsewhere.wait()


def test_a_clean_stop_of_one_orchestrator_leaves_the_fleet_to_the_others(start_orchestrator, database_url):
    """A rolling restart with the default settings: every tournament keeps its one server."""
    first, second = start_orchestrator(), start_orchestrator()
    tids = [make_tournament(first.api, state="REGISTRATION", teams=1)["id"] for _ in range(3)]
    pids = {tid: server_of(database_url, tid)[0] for tid in tids}

    def leads(orchestrator):
        return ok(orchestrator.api.get("/api/v1/servers"))["supervisor"]["leader"]

    assert wait_until(lambda: leads(first) != leads(second), timeout=10)
    leader, follower = (first, second) if leads(first) else (second, first)
    third = None
    for going, staying in ((leader, follower), (follower, None)):
        if staying is None:  # the rolling restart goes on: a new one comes, the last old one goes
            third = staying = start_orchestrator()
        assert going.stop() is not None and going.process.returncode == 0
        assert wait_until(lambda: leads(staying), timeout=10)
        assert not wait_until(lambda: not one_server_each(pids), timeout=4)
        for tid in tids:
            assert ok(staying.api.get(f"/t/{tid}/api/state"))["state"] == "REGISTRATION"
        assert {tid: server_of(database_url, tid)[0] for tid in tids} == pids

    # The last orchestrator's clean stop stops the fleet.
    third.stop()
    assert all(not pid_alive(pid) for pid in pids.values())
    assert all(server_of(database_url, tid)[0] is None for tid in tids)


def test_a_busy_server_is_left_to_work_and_a_hung_one_is_restarted(start_orchestrator, database_url, tmp_path):
    hook = tmp_path / "busy"
    hook.mkdir()
    api = start_orchestrator(PYTHONPATH=str(ROOT / "tests" / "support" / "busy_hook"), BUSY_HOOK_DIR=str(hook),
                             HEALTH_TIMEOUT="0.5", BUSY_GRACE="12", HEALTH_CHECK_INTERVAL="1", **FAST).api
    busy, runaway, hung = (make_tournament(api, state="REGISTRATION", teams=1)["id"] for _ in range(3))
    pids = {tid: server_of(database_url, tid)[0] for tid in (busy, runaway, hung)}
    # A long command: 8 s on the CPU, answering nothing (three failed checks take ~3-5 s here).
    (hook / str(pids[busy])).write_text("8")
    (hook / str(pids[runaway])).write_text("60")  # a loop that never ends
    os.kill(pids[busy], signal.SIGUSR1)
    os.kill(pids[runaway], signal.SIGUSR1)
    os.kill(pids[hung], signal.SIGSTOP)  # alive, but doing nothing at all

    assert wait_until(lambda: fleet_entry(api, busy)["last_check_ok"] is False, timeout=5)
    assert wait_until(lambda: fleet_entry(api, busy)["last_check_ok"] is True, timeout=20)
    entry = fleet_entry(api, busy)
    assert entry["pid"] == pids[busy] and entry["restarts"] == 0 and server_processes(busy) == [pids[busy]]

    for tid in (hung, runaway):  # no progress, or working past BUSY_GRACE: restarted
        assert wait_until(lambda: (fleet_entry(api, tid)["pid"] not in (None, pids[tid])
                                   and fleet_entry(api, tid)["last_check_ok"]), timeout=40)
        assert not pid_alive(pids[tid])
        assert server_processes(tid) == [fleet_entry(api, tid)["pid"]]


def test_a_clean_stop_ends_streams_and_idle_connections_at_once_and_quietly(start_orchestrator, database_url):
    orchestrator = start_orchestrator()
    api = orchestrator.api
    tid = make_tournament(api, state="REGISTRATION", teams=1)["id"]
    pid = server_of(database_url, tid)[0]
    viewer = requests.get(f"{orchestrator.url}/api/v1/events/tournaments/{tid}", stream=True, timeout=30)
    chunks = viewer.iter_content(chunk_size=None)
    assert next(chunks).startswith(b": connected")
    assert api.get("/api/v1/auth/me").status_code == 200  # and a keep-alive connection left idle

    orchestrator.stop()
    b"".join(chunks)  # the stream ended with its last chunk, not cut off
    assert orchestrator.process.returncode == 0
    said = orchestrator.log_of_stop()
    # A logged exception is a JSON line's "exception" field; "Traceback" is one Python printed itself.
    assert "SIGKILL" not in said and "Traceback" not in said and '"exception":' not in said, said
    assert "graceful timeout" not in said, said
    assert not pid_alive(pid)
