"""Liveness of servers that are not the orchestrator's children: their command line at first
sight, then a pidfd polled with all the others, against real processes."""
import os
import subprocess
import sys
import time

from orchestrator.spawners.process_exits import ProcessExits
from orchestrator.spawners.subprocess import SubprocessSpawner


def _not_our_child(*argv):
    """Start `argv` (after the interpreter) as a grandchild, so it is not our child; returns its pid."""
    launcher = subprocess.run(
        [sys.executable, "-c", "import subprocess, sys; print(subprocess.Popen(sys.argv[1:], start_new_session=True,"
         " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).pid)", sys.executable, *argv],
        capture_output=True, text=True, check=True)
    return int(launcher.stdout)


def _server(tournament_id):
    return _not_our_child("-c", "import time; time.sleep(60)", "/x/run.py", "tournament", "--id", tournament_id)


def _gone_within(check, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_exits_are_told_once_for_the_processes_that_exited_only():
    exits = ProcessExits()
    first, second = _server("t_a"), _server("t_b")
    try:
        assert exits.watch("a", first) and exits.watch("b", second)
        assert exits.exited() == set()
        os.kill(first, 9)
        seen = set()
        assert _gone_within(lambda: seen.update(exits.exited()) or seen)
        assert seen == {"a"} and not exits.watching("a") and exits.watching("b")
        assert exits.exited() == set()
    finally:
        for pid in (first, second):
            _kill(pid)


def test_the_spawner_finds_a_killed_server_it_did_not_start_and_not_a_live_one(tmp_path):
    spawner = SubprocessSpawner("127.0.0.1", (20000, 20010), {}, tmp_path)
    alive, killed = _server("t_alive"), _server("t_killed")
    try:
        instances = [("t_alive", alive), ("t_killed", killed), ("t_wrong", alive)]
        # First sight: by command line (another tournament's pid is not this one's server).
        assert spawner.gone(instances) == {("t_wrong", alive)}
        assert spawner._exits.watching(("t_alive", alive)) and spawner._exits.watching(("t_killed", killed))
        os.kill(killed, 9)
        assert _gone_within(lambda: ("t_killed", killed) in spawner.gone(instances[:2]))
        assert spawner.gone(instances[:2]) == {("t_killed", killed)}  # and it stays gone
        assert spawner.gone([("t_alive", alive)]) == set()
    finally:
        for pid in (alive, killed):
            _kill(pid)


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def _kill(pid):
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
