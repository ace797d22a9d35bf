"""Servers forked from the zygote (the subprocess spawner's preloaded parent) are as independent as
exec'd ones: a killed zygote or orchestrator takes none down, the next orchestrator adopts them;
and a server's port is held from the moment the spawner picks it. All with real processes."""
import os
import signal
import socket

import psutil
import pytest
import sqlalchemy as sa

from orchestrator.spawners.subprocess import SubprocessSpawner
from orchestrator.spawners.zygote import Zygote
from shared.db.tables import tournaments
from tests.conftest import GATEWAY_SECRET
from tests.e2e.helpers import fleet_entry, restart_and_adopt, server_of, server_processes
from tests.support.api import make_tournament, ok
from tests.support.processes import pid_alive, server_ports, wait_until

FAST = {"SUPERVISE_INTERVAL": "0.3", "RESTART_BACKOFF_BASE": "0.1", "RESTART_BACKOFF_CAP": "0.5"}


def zygotes(instance_path):
    """Pids of the zygotes serving `instance_path`."""
    wanted = os.path.realpath(instance_path)
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = process.info["cmdline"] or []
        if (cmdline[2:3] == ["zygote"] and wanted in cmdline and process.info["status"] != psutil.STATUS_ZOMBIE):
            found.append(process.pid)
    return found


def forked_by(pid):
    """The pid of the zygote that forked server `pid`, or None when it was started otherwise."""
    parent = psutil.Process(pid).parent()
    return parent.pid if parent is not None and parent.cmdline()[2:3] == ["zygote"] else None


def published_and_forked(api, database_url):
    """Publish a tournament whose server the zygote forks (a publish made while no zygote answered
    is started by exec: the next one is forked); returns (tournament id, server pid, zygote pid)."""
    def publish():
        tid = make_tournament(api, state="REGISTRATION", teams=1)["id"]
        pid = server_of(database_url, tid)[0]
        published.append((tid, pid, forked_by(pid)))
        return published[-1][2] is not None
    published = []
    assert wait_until(publish, timeout=30, interval=0.5), f"no server forked by a zygote: {published}"
    return published[-1]


def test_a_killed_zygote_takes_no_server_down_and_a_new_one_forks_the_next(start_orchestrator, platform_env,
                                                                           database_url):
    api = start_orchestrator(**FAST).api
    tid, pid, zygote = published_and_forked(api, database_url)
    os.kill(zygote, signal.SIGKILL)
    assert wait_until(lambda: zygote not in zygotes(platform_env["INSTANCE_PATH"]), timeout=5)

    assert pid_alive(pid) and not wait_until(lambda: not pid_alive(pid), timeout=2)
    ok(api.post(f"/t/{tid}/api/teams", {"name": "After the zygote"}), 201)
    assert fleet_entry(api, tid)["pid"] == pid and fleet_entry(api, tid)["restarts"] == 0
    # Publishing still works (by exec while no zygote answers), and a new zygote forks again.
    _tid, _pid, new_zygote = published_and_forked(api, database_url)
    assert new_zygote != zygote
    assert server_processes(tid) == [pid]


def memory_of(pid):
    """(resident bytes in the mappings offered to samepage merging, how many of them are the
    process's own) of process `pid`, from /proc/PID/smaps (an offered mapping's VmFlags say "mg")."""
    offered = own = 0
    rss = private = 0
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            name, _, value = line.partition(":")
            if name == "Rss":
                rss, private = int(value.split()[0]) * 1024, 0
            elif name in ("Private_Clean", "Private_Dirty"):
                private += int(value.split()[0]) * 1024
            elif name == "VmFlags" and "mg" in value.split():
                offered, own = offered + rss, own + private
    return offered, own


def test_a_forked_server_offers_the_pages_it_copied_to_samepage_merging_and_no_others(
        start_orchestrator, database_url):
    # Whether ksmd runs is the host's choice (KSM_OFFER=auto, the default, offers only then):
    # `always` shows what a server offers whatever this machine runs.
    api = start_orchestrator(**FAST, KSM_OFFER="always", KSM_OFFER_AFTER_SECONDS="1").api
    _tid, pid, zygote = published_and_forked(api, database_url)
    assert wait_until(lambda: memory_of(pid)[0] > 0, timeout=15), "the server offered nothing"
    offered, own = memory_of(pid)
    resident = psutil.Process(pid).memory_info().rss
    # Its own pages (a copy of the zygote's or new), with a few shared ones between them (runs a
    # few pages apart are offered as one: 17 of 25 MiB measured): not the tens of MiB it still
    # shares with the zygote, which are one copy already.
    assert own > 4 * 2 ** 20 and own > 0.5 * offered, (own, offered)
    assert offered < resident / 2, (offered, resident)
    assert memory_of(zygote)[0] == 0

    exec_started = start_orchestrator(SPAWNER_PRELOAD="0", KSM_OFFER="always", KSM_OFFER_AFTER_SECONDS="1").api
    tid = make_tournament(exec_started, state="REGISTRATION", teams=1)["id"]
    exec_pid = server_of(database_url, tid)[0]
    assert not wait_until(lambda: memory_of(exec_pid)[0] > 0, timeout=3), "a server started by exec shares nothing"


def test_a_forked_server_told_never_offers_nothing(
        start_orchestrator, database_url):
    api = start_orchestrator(**FAST, KSM_OFFER="never", KSM_OFFER_AFTER_SECONDS="0").api
    _tid, pid, _zygote = published_and_forked(api, database_url)
    assert not wait_until(lambda: memory_of(pid)[0] > 0, timeout=3)


def test_a_forked_server_is_adopted_after_its_orchestrator_is_killed(start_orchestrator, database_url):
    first = start_orchestrator()
    tid, pid, zygote = published_and_forked(first.api, database_url)
    ok(first.api.post(f"/t/{tid}/api/teams", {"name": "Before the crash"}), 201)

    second = restart_and_adopt(first, start_orchestrator, tid)
    entry = fleet_entry(second.api, tid)
    assert entry["pid"] == pid and entry["restarts"] == 0  # adopted, not restarted
    assert server_processes(tid) == [pid] and forked_by(pid) == zygote
    assert ok(second.api.get(f"/t/{tid}/api/state"))["teams_count"] == 2
    # The zygote outlived the orchestrator too: the next one forks from it.
    other = make_tournament(second.api, state="REGISTRATION", teams=1)["id"]
    assert forked_by(server_of(database_url, other)[0]) == zygote


def served_draft(start_orchestrator, db_engine):
    """A tournament published as far as a server can tell, with no supervisor to start one (the
    test's own spawner does)."""
    tid = make_tournament(start_orchestrator(START_SUPERVISOR="0").api)["id"]
    with db_engine.begin() as conn:
        conn.execute(sa.update(tournaments).where(tournaments.c.id == tid).values(state="REGISTRATION"))
    return tid


def server_env(platform_env):
    env = {name: platform_env[name] for name in ("DATABASE_URL", "REDIS_URL", "REDIS_NAMESPACE", "INSTANCE_PATH")}
    return {**env, "MIGRATE_ON_START": "0", "GATEWAY_SECRET": GATEWAY_SECRET}


class NeverComingZygote(Zygote):
    """A zygote that never comes up (its launch fails, say)."""

    def launch(self, force=False):
        pass


def test_without_a_zygote_the_server_is_started_by_exec_and_the_log_says_so(
        start_orchestrator, platform_env, db_engine, tmp_path, caplog):
    tid = served_draft(start_orchestrator, db_engine)
    env = server_env(platform_env)
    zygote = NeverComingZygote(str(tmp_path / "no-zygote-here"), env, tmp_path / "logs")
    spawner = SubprocessSpawner("127.0.0.1", server_ports(4, salt=11), env, tmp_path / "logs", zygote=zygote)
    handle = spawner.start(tid)
    try:
        assert spawner.health(handle.host, handle.port, tid, handle.token) and forked_by(handle.pid) is None
        assert server_processes(tid) == [handle.pid]
        assert any("zygote unavailable" in r.getMessage() and tid in r.getMessage() for r in caplog.records)
    finally:
        spawner.stop(handle.pid, tid)
    assert not pid_alive(handle.pid)


@pytest.mark.parametrize("preload", [True, False], ids=["forked", "exec"])
def test_a_servers_port_is_held_from_the_spawners_choice_and_taken_ports_are_skipped(
        preload, start_orchestrator, platform_env, db_engine, tmp_path):
    tid = served_draft(start_orchestrator, db_engine)
    low, high = server_ports(4, salt=7)
    taken_by_listener = socket.socket()
    taken_by_client = socket.socket()
    env = server_env(platform_env)
    zygote = Zygote(platform_env["INSTANCE_PATH"], env, tmp_path / "logs") if preload else None
    spawner = SubprocessSpawner("127.0.0.1", (low, high), env, tmp_path / "logs", zygote=zygote)
    handle = None
    try:
        taken_by_listener.bind(("127.0.0.1", low))
        taken_by_listener.listen()
        # What made publishes fail: an outgoing connection's local port inside the range.
        taken_by_client.bind(("127.0.0.1", low + 1))
        taken_by_client.connect(("127.0.0.1", low))
        if zygote is not None:
            zygote.launch()
            assert wait_until(lambda: zygote.answers(), timeout=30)

        grabbed = []

        def take_its_port(handle):
            # Anything binding the chosen port once the server exists, before it answers, fails.
            with socket.socket() as intruder:
                try:
                    intruder.bind(("127.0.0.1", handle.port))
                    intruder.listen()
                    grabbed.append(True)
                except OSError:
                    grabbed.append(False)

        handle = spawner.start(tid, on_launch=take_its_port)
        assert handle.port == low + 2 and grabbed == [False]
        assert spawner.health(handle.host, handle.port, tid, handle.token)
        assert (forked_by(handle.pid) is not None) == preload
    finally:
        if handle is not None:
            spawner.stop(handle.pid, tid)
        taken_by_client.close()
        taken_by_listener.close()


def own_database_ports(database_url, tournament_id):
    """Client ports of the PostgreSQL connections named after the tournament's server."""
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return {port for (port,) in conn.execute(
                sa.text("SELECT client_port FROM pg_stat_activity WHERE application_name = :name"),
                {"name": f"tournament-server {tournament_id}"})}
    finally:
        engine.dispose()


def tcp_ports(pid):
    return {conn.laddr.port for conn in psutil.Process(pid).net_connections(kind="tcp")}


def test_servers_forked_from_the_zygotes_app_have_their_own_config_and_connections(
        start_orchestrator, platform_env, db_engine, tmp_path):
    """The zygote builds the app every child finishes (tournament_service.build_app): two servers
    it forks still answer for their own tournament and token, write their own log, and hold their
    own database connections, named after their tournament; the zygote holds no connection."""
    first, second = served_draft(start_orchestrator, db_engine), served_draft(start_orchestrator, db_engine)
    env = server_env(platform_env)
    zygote = Zygote(platform_env["INSTANCE_PATH"], env, tmp_path / "logs")
    spawner = SubprocessSpawner("127.0.0.1", server_ports(4, salt=13), env, tmp_path / "logs", zygote=zygote)
    handles = []
    try:
        zygote.launch()
        assert wait_until(lambda: zygote.answers(), timeout=30)
        handles = [spawner.start(first), spawner.start(second)]
        parents = {forked_by(handle.pid) for handle in handles}
        assert len(parents) == 1 and None not in parents, "both forked by the same zygote"
        (zygote_pid,) = parents
        assert handles[0].token != handles[1].token
        for handle, other in zip(handles, reversed(handles)):
            assert spawner.health(handle.host, handle.port, handle.tournament_id, handle.token)
            assert not spawner.health(handle.host, handle.port, other.tournament_id, other.token)
            log_file = str(tmp_path / "logs" / f"tournament-{handle.tournament_id}.log")
            assert log_file in [f.path for f in psutil.Process(handle.pid).open_files()]
            # Its publish wrote through its own pool, which keeps the connection a while.
            ports = own_database_ports(platform_env["DATABASE_URL"], handle.tournament_id)
            assert ports and ports <= tcp_ports(handle.pid)
            assert not ports & tcp_ports(other.pid)
        assert psutil.Process(zygote_pid).net_connections(kind="inet") == []
    finally:
        for handle in handles:
            spawner.stop(handle.pid, handle.tournament_id)
        zygote.stop()
