"""Nothing acknowledged is lost: not when a tournament server is killed, not while Redis is away."""
import os
import shutil
import subprocess

import pytest
import redis

from tests.e2e.helpers import server_of
from tests.support.api import make_tournament, ok, play_round
from tests.support.processes import Proc, free_port, pid_alive, wait_http, wait_until
from tests.support.sse import SSEClient


def snapshot(api, tid):
    gateway = f"/t/{tid}"
    return {
        "state": ok(api.get(f"{gateway}/api/state")),
        "teams": ok(api.get(f"{gateway}/api/teams")),
        "matches": ok(api.get(f"{gateway}/api/matches", params={"round": 1})),
        "bracket": ok(api.get(f"{gateway}/api/bracket")),
        "standings": ok(api.get(f"{gateway}/api/standings")),
    }


def test_a_killed_server_comes_back_with_exactly_its_state(start_orchestrator, platform_env, database_url, tmp_path):
    # The server's own recovery from its log, restarted by hand: no supervisor to race with
    # (test_supervisor.py covers the supervisor restarting it).
    api = start_orchestrator(START_SUPERVISOR="0").api
    tournament = make_tournament(api, state="ACTIVE", teams=8)
    tid = tournament["id"]
    matches = ok(api.get(f"/t/{tid}/api/matches"))["items"]
    for match in matches[:2]:
        ok(api.post(f"/t/{tid}/api/matches/{match['id']}/result", {"winner": match["team2_id"]}))
    before = snapshot(api, tid)

    pid, host, port = server_of(database_url, tid)
    os.kill(pid, 9)
    assert wait_until(lambda: not pid_alive(pid))
    assert api.get(f"/t/{tid}/api/state").status_code == 503

    restarted = Proc(["tournament", "--id", tid, "--port", str(port)], platform_env, str(tmp_path / "t.log"))
    try:
        wait_http(f"http://{host}:{port}/api/state", process=restarted.process)
        after = snapshot(api, tid)
        assert after == before
        completed = [m for m in after["matches"]["items"] if m["status"] == "completed"]
        assert [(m["id"], m["winner"]) for m in completed] == [(m["id"], m["team2_id"]) for m in matches[:2]]
        # It goes on where it stopped: the next results build round 2 on top of the old ones.
        play_round(api, tid)
        state = ok(api.get(f"/t/{tid}/api/state"))
        assert state["round"] == 2 and state["seq"] == before["state"]["seq"] + 3
    finally:
        restarted.stop()


def test_lifecycle_commands_survive_a_kill_too(start_orchestrator, platform_env, database_url, tmp_path):
    """Reports, disputes, disqualifications and corrections are events like results: a killed
    server rebuilds them all from its log."""
    api = start_orchestrator(START_SUPERVISOR="0").api
    tournament = make_tournament(api, state="REGISTRATION", teams=0, format="swiss", max_teams=6)
    tid, gateway = tournament["id"], f"/t/{tournament['id']}"
    captains = [api.as_user(f"cap-{n}-{tid[-4:]}") for n in range(6)]
    for n, captain in enumerate(captains):
        ok(captain.post(f"{gateway}/api/teams", {"name": f"Team {n}"}), 201)
    ok(api.post(f"{gateway}/api/start"))
    by_team = {t["id"]: captains[n] for n, t in enumerate(ok(api.get(f"{gateway}/api/teams"))["items"])}
    first, second, third = ok(api.get(f"{gateway}/api/matches"))["items"]
    ok(by_team[first["team1_id"]].post(f"{gateway}/api/matches/{first['id']}/result", {"winner": first["team1_id"]}))
    ok(by_team[first["team2_id"]].post(f"{gateway}/api/matches/{first['id']}/result", {"winner": first["team2_id"]}))
    ok(by_team[second["team1_id"]].post(f"{gateway}/api/matches/{second['id']}/result",
                                        {"winner": second["team2_id"]}))
    ok(api.post(f"{gateway}/api/teams/{third['team1_id']}/disqualify"))
    all_matches = {status: ok(api.get(f"{gateway}/api/matches", params={"status": status}))["items"]
                   for status in ("pending", "reported", "disputed", "completed")}
    assert [m["id"] for m in all_matches["disputed"]] == [first["id"]]
    assert [m["id"] for m in all_matches["reported"]] == [second["id"]]
    before = {**snapshot(api, tid), "all": all_matches}

    pid, host, port = server_of(database_url, tid)
    os.kill(pid, 9)
    assert wait_until(lambda: not pid_alive(pid))
    restarted = Proc(["tournament", "--id", tid, "--port", str(port)], platform_env, str(tmp_path / "t.log"))
    try:
        wait_http(f"http://{host}:{port}/api/state", process=restarted.process)
        after = {**snapshot(api, tid), "all": {status: ok(api.get(f"{gateway}/api/matches",
                                                                   params={"status": status}))["items"]
                                               for status in all_matches}}
        assert after == before
        # And it goes on: the opponent confirms the pending report.
        confirmed = ok(by_team[second["team2_id"]].post(f"{gateway}/api/matches/{second['id']}/result",
                                                         {"winner": second["team2_id"]}))
        assert confirmed["status"] == "completed"
    finally:
        restarted.stop()


@pytest.fixture
def throwaway_redis(tmp_path):
    """A redis-server of this test's own, that the test may kill and start again on the same port."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is needed (Debian package redis-server)"
    port = free_port()
    servers = []

    def start():
        process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                    "--appendonly", "no", "--dir", str(tmp_path)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        servers.append(process)
        client = redis.Redis(port=port)
        assert wait_until(lambda: _pings(client), timeout=10)
        return process

    start.url = f"redis://127.0.0.1:{port}/0"
    start.port = port
    yield start
    for process in servers:
        process.kill()
        process.wait()


def _pings(client):
    try:
        return client.ping()
    except redis.RedisError:
        return False


def test_results_recorded_while_redis_is_down_reach_viewers_in_order(start_orchestrator, throwaway_redis):
    redis_process = throwaway_redis()
    orchestrator = start_orchestrator(REDIS_URL=throwaway_redis.url)
    api = orchestrator.api
    tournament = make_tournament(api, state="ACTIVE", teams=4)
    tid = tournament["id"]
    viewer = SSEClient(api.url(f"/api/v1/events/tournaments/{tid}"), last_event_id=0)
    seen = viewer.until(lambda e: e["event"] == "round_advanced")

    redis_process.kill()
    redis_process.wait()
    assert wait_until(lambda: api.get("/readyz").status_code == 503)
    # Commands are acknowledged although nothing can be published.
    sent = play_round(api, tid)
    assert len(sent) == 2
    assert ok(api.get(f"/t/{tid}/api/state"))["round"] == 2
    assert viewer.drain(wait=1.0) == []

    throwaway_redis()
    seen += viewer.until(lambda e: e["event"] == "round_advanced" and e["data"]["new_round"] == 2, timeout=20)
    assert [e["id"] for e in seen] == list(range(1, len(seen) + 1))
    assert [e["event"] for e in seen[-3:]] == ["match_result", "match_result", "round_advanced"]
    assert [(e["data"]["match_id"], e["data"]["winner"]) for e in seen[-3:-1]] == sent
    # The held events went out on the new Redis too, not only through the database replay.
    head = seen[-1]["id"]
    client = redis.Redis.from_url(throwaway_redis.url, decode_responses=True)
    key = f"{orchestrator_namespace(orchestrator)}t:{tid}:published_seq"
    assert wait_until(lambda: client.get(key) == str(head), timeout=10)
    assert wait_until(lambda: api.get("/readyz").status_code == 200)

    # And live delivery works again after the outage.
    ok(api.post(f"/t/{tid}/api/matches/r2_match_1/result", {"winner": seen[-1]["data"]["matches"][0]["team1_id"]}))
    tail = viewer.until(lambda e: e["event"] == "tournament_completed")
    assert [e["id"] for e in tail] == list(range(head + 1, head + 1 + len(tail)))
    viewer.close()


def orchestrator_namespace(orchestrator):
    return orchestrator.env["REDIS_NAMESPACE"]
