"""The supervisor with real processes: restarts, crash loops, adoption, one leader."""
import os
import signal
from datetime import datetime, timezone

import sqlalchemy as sa

from shared.db.tables import tournament_events
from tests.e2e.helpers import fleet_entry, server_of, server_processes
from tests.support.api import make_tournament, ok, play_round
from tests.support.processes import pid_alive, port_is_free, wait_until

FAST_RESTARTS = {"RESTART_BACKOFF_BASE": "0.1", "RESTART_BACKOFF_CAP": "0.5", "SUPERVISE_INTERVAL": "0.3"}


def test_a_killed_server_is_back_with_its_state_within_seconds(start_orchestrator, database_url):
    orchestrator = start_orchestrator(**FAST_RESTARTS)
    api = orchestrator.api
    tid = make_tournament(api, state="ACTIVE", teams=8)["id"]
    first = ok(api.get(f"/t/{tid}/api/matches"))["items"][0]
    ok(api.post(f"/t/{tid}/api/matches/{first['id']}/result", {"winner": first["team2_id"]}))
    before = ok(api.get(f"/t/{tid}/api/matches"))

    pid, _host, _port = server_of(database_url, tid)
    os.kill(pid, 9)
    assert wait_until(lambda: api.get(f"/t/{tid}/api/state").status_code == 200
                      and server_of(database_url, tid)[0] not in (None, pid), timeout=10)
    assert ok(api.get(f"/t/{tid}/api/matches")) == before
    entry = fleet_entry(api, tid)
    assert entry["status"] == "RUNNING" and entry["restarts"] == 1 and entry["last_check_ok"] is True
    assert len(server_processes(tid)) == 1


def test_between_health_checks_a_killed_server_is_still_back_within_seconds_and_a_stopped_one_restarted(
        start_orchestrator, database_url):
    # Health asked only every 20 s: what finds the killed server is each round's process check.
    orchestrator = start_orchestrator(**FAST_RESTARTS, HEALTH_CHECK_INTERVAL="20", HEALTH_TIMEOUT="0.5")
    api = orchestrator.api
    healthy, killed, stopped = (make_tournament(api, state="REGISTRATION", teams=1)["id"] for _ in range(3))
    pids = {tid: server_of(database_url, tid)[0] for tid in (healthy, killed, stopped)}
    checked = {tid: fleet_entry(api, tid)["last_check_at"] for tid in pids}

    os.kill(pids[killed], 9)
    os.kill(pids[stopped], signal.SIGSTOP)  # alive, answering nothing: only its health check tells
    assert wait_until(lambda: api.get(f"/t/{killed}/api/state").status_code == 200
                      and server_of(database_url, killed)[0] not in (None, pids[killed]), timeout=10)
    assert wait_until(lambda: (fleet_entry(api, stopped)["pid"] not in (None, pids[stopped])
                               and fleet_entry(api, stopped)["last_check_ok"]), timeout=60)
    assert not pid_alive(pids[stopped]) and server_processes(stopped) == [fleet_entry(api, stopped)["pid"]]
    # The healthy one's row says when its last health check passed, though nothing else changed.
    assert wait_until(lambda: fleet_entry(api, healthy)["last_check_at"] > checked[healthy], timeout=25)
    entry = fleet_entry(api, healthy)
    assert entry["pid"] == pids[healthy] and entry["restarts"] == 0 and entry["last_check_ok"] is True


def test_a_server_that_dies_on_every_start_ends_failed_until_a_person_restarts_it(start_orchestrator, database_url):
    orchestrator = start_orchestrator(**FAST_RESTARTS)
    api = orchestrator.api
    tid = make_tournament(api, state="REGISTRATION", teams=2)["id"]
    pid, _host, _port = server_of(database_url, tid)
    # A log entry no server can replay: every start now fails while rebuilding the state.
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.insert(tournament_events).values(
            tournament_id=tid, seq=999, type="team_registered", payload="{not json",
            created_at=datetime.now(timezone.utc)))
    os.kill(pid, 9)

    assert wait_until(lambda: fleet_entry(api, tid)["status"] == "FAILED", timeout=30)
    failed = fleet_entry(api, tid)
    assert api.get(f"/t/{tid}/api/state").status_code == 503
    # It stays FAILED: no more restarts, no process.
    assert not wait_until(lambda: fleet_entry(api, tid) != failed, timeout=3)
    assert server_processes(tid) == []

    stranger = api.as_user(f"stranger-{tid}")
    assert stranger.post(f"/api/v1/servers/{tid}/restart").status_code == 403
    assert fleet_entry(stranger, tid) is None  # not their tournament
    with engine.begin() as conn:  # the organizer repairs the log, then restarts by hand
        conn.execute(sa.delete(tournament_events).where(tournament_events.c.tournament_id == tid,
                                                        tournament_events.c.seq == 999))
    engine.dispose()
    assert ok(api.post(f"/api/v1/servers/{tid}/restart"), 202)
    assert wait_until(lambda: api.get(f"/t/{tid}/api/state").status_code == 200, timeout=15)
    assert ok(api.get(f"/t/{tid}/api/state"))["teams_count"] == 2


def test_servers_outlive_a_killed_orchestrator_and_the_next_one_adopts_them(start_orchestrator, database_url):
    first = start_orchestrator()
    active = make_tournament(first.api, state="ACTIVE", teams=4)["id"]
    play_round(first.api, active)
    waiting = make_tournament(first.api, state="REGISTRATION", teams=1)["id"]
    pids = {tid: server_of(database_url, tid)[0] for tid in (active, waiting)}
    first.kill9()
    assert all(pid_alive(pid) for pid in pids.values())  # still serving while nobody supervises

    second = start_orchestrator()
    second.api = second.api.__class__(second.url).login(first.api.user["username"], register=False)
    assert wait_until(lambda: all((fleet_entry(second.api, tid) or {}).get("last_check_ok")
                                  and fleet_entry(second.api, tid)["status"] == "RUNNING" for tid in pids), timeout=20)
    for tid, pid in pids.items():
        assert fleet_entry(second.api, tid)["pid"] == pid  # adopted, not restarted
        assert server_processes(tid) == [pid]  # and never doubled
    assert ok(second.api.get(f"/t/{active}/api/state"))["round"] == 2


def test_a_clean_stop_of_the_orchestrator_stops_its_servers(start_orchestrator, database_url):
    orchestrator = start_orchestrator()
    tid = make_tournament(orchestrator.api, state="REGISTRATION", teams=1)["id"]
    pid, _host, port = server_of(database_url, tid)
    orchestrator.stop()
    assert wait_until(lambda: not pid_alive(pid), timeout=15)
    assert wait_until(lambda: port_is_free(port), timeout=5)


def test_two_orchestrators_elect_one_supervisor_and_the_other_takes_over(start_orchestrator):
    first, second = start_orchestrator(), start_orchestrator()

    def leaders():
        return [o for o in (first, second) if o.alive() and ok(o.api.get("/api/v1/servers"))["supervisor"]["leader"]]

    assert wait_until(lambda: len(leaders()) == 1, timeout=10)
    assert not wait_until(lambda: len(leaders()) != 1, timeout=2)  # and it stays one
    leader = leaders()[0]
    follower = second if leader is first else first
    leader.kill9()
    # The lease (3 s in tests) runs out and the follower takes it.
    assert wait_until(lambda: ok(follower.api.get("/api/v1/servers"))["supervisor"]["leader"], timeout=10)
