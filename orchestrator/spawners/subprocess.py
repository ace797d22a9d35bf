"""The subprocess backend (SPAWNER=subprocess, the default): tournament servers as local processes.

Servers run detached (their own session), so an orchestrator that crashes or restarts leaves them
serving, and the next supervisor adopts them: each start hands the server a fresh token that its
/api/health reports, which tells our process from anything else on that port. Each server writes
its own rotated log file.
"""
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import psutil

from orchestrator.spawners import ServerHandle, SpawnError, Spawner
from orchestrator.spawners.process_exits import ProcessExits
from orchestrator.spawners.zygote import ZygoteUnavailable

log = logging.getLogger(__name__)
FORGET_FORKED_EVERY = 30.0

RUN_PY = str(Path(__file__).resolve().parents[2] / "run.py")


def port_is_free(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Servers rebind over TIME_WAIT leftovers (SO_REUSEADDR), so only a listener makes it taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def bind_listener(host, port, backlog=256):
    """A socket listening on host:port, or None when the port is taken (a listener, or any socket
    bound there; TIME_WAIT leftovers don't count: SO_REUSEADDR, as every server sets)."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(backlog)
    except OSError:
        listener.close()
        return None
    return listener


class SubprocessSpawner(Spawner):
    """Runs `python run.py tournament --id ID --port P` per tournament, forked from the zygote
    when one answers, else started by exec; its instances are pids."""

    def __init__(self, host, port_range, env, log_dir, start_timeout=20.0, stop_timeout=5.0, zygote=None):
        self.host = host
        self.ports = range(port_range[0], port_range[1] + 1)
        self.env = env
        self.log_dir = Path(log_dir)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._children = {}  # pid -> Popen, so our own children are reaped, not left as zombies
        self._forked = {}  # pid -> tournament id of servers the zygote forked for us
        self._forked_checked_at = 0.0
        self.zygote = zygote  # a spawners.zygote.Zygote: servers are forked from it when it answers
        self._lock = threading.Lock()
        self._exits = ProcessExits()  # the servers that are not our children, seen alive once

    def start(self, tournament_id, taken_ports=(), on_launch=None):
        """Start a server for `tournament_id` and wait until it answers as itself.

        `on_launch(handle)` runs as soon as the process exists, before it answers: the fleet
        records its pid there, so no process ever runs unrecorded. When it returns False the
        process is stopped again.

        :raise SpawnError: when no port is free, `on_launch` refused, or the server does not
            answer in time.
        """
        token, began = secrets.token_hex(16), time.monotonic()
        pid, port, process = self._launch(tournament_id, token, set(taken_ports))
        launched = time.monotonic()
        handle = ServerHandle(tournament_id, self.host, port, pid, token, datetime.now(timezone.utc))
        try:
            if on_launch is not None and on_launch(handle) is False:
                raise SpawnError("another start of this tournament's server took over")
            self._wait_ready(handle, process)
        except BaseException as exc:
            self.stop(handle.pid, tournament_id)
            if isinstance(exc, SpawnError):
                raise SpawnError(str(exc), pid=handle.pid) from None
            raise
        log.info("%s's server %d answers on port %d: %s in %.0f ms, answering %.0f ms later", tournament_id, pid,
                 port, "exec'd" if process else "forked", (launched - began) * 1000, (time.monotonic() - launched) * 1000)
        return handle

    def _launch(self, tournament_id, token, taken_ports):
        """Bind a free port and start a server on it: (pid, port, our Popen or None when forked)."""
        listener, port = self._bind_free_port(taken_ports)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, "SERVER_TOKEN": token,
               "LOG_FILE": str(self.log_dir / f"tournament-{tournament_id}.log")}
        # Only what is printed before logging is set up (a failed import, say) lands here.
        early_output = self.log_dir / f"tournament-{tournament_id}.out"
        try:
            if self.zygote is not None:
                try:
                    pid = self.zygote.fork(tournament_id, self.host, port, listener, env, early_output)
                    with self._lock:
                        self._forked[pid] = tournament_id
                    return pid, port, None
                except ZygoteUnavailable as exc:
                    log.warning("zygote unavailable, starting %s's server by exec (slower): %s", tournament_id, exc)
                    if exc.sent:  # a server it forked may hold that socket: use another one
                        listener.close()
                        listener, port = self._bind_free_port(taken_ports | {port})
            with open(early_output, "wb") as out:
                process = subprocess.Popen(
                    [sys.executable, RUN_PY, "tournament", "--id", tournament_id, "--host", self.host,
                     "--port", str(port), "--listen-fd", str(listener.fileno())],
                    env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True, close_fds=True, pass_fds=(listener.fileno(),))
            with self._lock:
                self._children[process.pid] = process
            return process.pid, port, process
        finally:
            listener.close()  # the server holds its own copy

    def _bind_free_port(self, taken_ports):
        """A listening socket on the first port of the range that binds: (socket, port). The
        server inherits it, so nothing can take the port between our choice and its start (a
        client socket of the ephemeral range did: a publish answered 503).

        :raise SpawnError: when no port of the range binds.
        """
        for port in self.ports:
            if port not in taken_ports:
                listener = bind_listener(self.host, port)
                if listener is not None:
                    return listener, port
        raise SpawnError(f"no free port in {self.ports.start}-{self.ports.stop - 1}")

    def _wait_ready(self, handle, process):
        if process is None:
            self.wait_answering(handle, lambda: not _running(handle.pid) and (
                f"tournament server exited (see tournament-{handle.tournament_id}.log)"))
            return
        self.wait_answering(handle, lambda: process.poll() is not None and (
            f"tournament server exited with code {process.returncode} (see tournament-{handle.tournament_id}.log)"))

    def stop(self, pid, tournament_id):
        """Stop the tournament's server: SIGTERM, a grace period, then SIGKILL.

        Only a process that really is this tournament's server is signalled, never a recycled pid.
        """
        with self._lock:
            child = self._children.pop(pid, None)
            self._forked.pop(pid, None)
        self._exits.forget((tournament_id, pid))
        if child is not None:
            _terminate(pid, self.stop_timeout, child)
        elif pid and is_tournament_server(pid, tournament_id):
            _terminate(pid, self.stop_timeout)

    def stop_all(self):
        """Stop every server this process started that still runs (tests, single-process use)."""
        with self._lock:
            children, forked = list(self._children.values()), dict(self._forked)
            self._children.clear()
            self._forked.clear()
        for child in children:
            _terminate(child.pid, self.stop_timeout, child)
        stop_processes([pid for pid, tournament_id in forked.items() if is_tournament_server(pid, tournament_id)],
                       self.stop_timeout)

    def reap(self):
        """Collect our children that exited, so their pids read as dead; forget forked servers
        that exited (every FORGET_FORKED_EVERY seconds: a stale entry is harmless, as stop and
        stop_all read a pid's command line before signalling it, and a signal-0 syscall for each
        of 200 servers every round was a twentieth of an idle fleet's supervision); keep the
        zygote alive."""
        now = time.monotonic()
        with self._lock:
            for pid, child in list(self._children.items()):
                if child.poll() is not None:
                    del self._children[pid]
            if now - self._forked_checked_at >= FORGET_FORKED_EVERY:
                self._forked_checked_at = now
                for pid in list(self._forked):
                    if not signal_process(pid, 0):
                        del self._forked[pid]
        if self.zygote is not None:
            self.zygote.keep_alive()

    def retire(self):
        if self.zygote is not None:
            self.zygote.stop()

    def stop_many(self, instances, grace_seconds):
        stop_processes(sorted({pid for tournament_id, pid in instances if is_tournament_server(pid, tournament_id)}),
                       grace_seconds)

    def is_running(self, pid, tournament_id):
        return bool(pid) and is_tournament_server(pid, tournament_id)

    def cpu_seconds(self, pid, tournament_id):
        return cpu_seconds(pid)

    def gone(self, instances):
        """Our own children (reaped just before) by one signal-0 syscall each; the others (forked
        by the zygote, adopted), which may be zombies or recycled pids, by their command line the
        first time (~30 us each), then by a pidfd, polled with all the others in one call."""
        with self._lock:
            ours = set(self._children)
        exited = self._exits.exited()
        gone = set()
        for instance in instances:
            tournament_id, pid = instance
            if pid in ours:
                alive = _exists(pid)
            elif self._exits.watching(instance):
                alive = True
            else:
                # Read again once watched: the pid may have been recycled between the two looks.
                alive = is_tournament_server(pid, tournament_id) and (
                    not self._exits.watch(instance, pid) or is_tournament_server(pid, tournament_id))
                if not alive:
                    self._exits.forget(instance)
            if instance in exited or not alive:
                gone.add(instance)
        return gone

    def running_servers(self):
        return tournament_servers_running()

    def ask_to_stop(self, pid, tournament_id):
        return signal_process(pid, signal.SIGTERM)

    def force_stop(self, pid, tournament_id):
        return signal_process(pid, signal.SIGKILL)


def served_tournament(cmdline):
    """The tournament id a `run.py tournament --id ID ...` command line serves, else None."""
    for at, arg in enumerate(cmdline[:-3]):
        if arg.endswith("run.py") and cmdline[at + 1] == "tournament":
            rest = cmdline[at + 2:]
            if "--id" in rest and rest.index("--id") + 1 < len(rest):
                return rest[rest.index("--id") + 1]
            return None
    return None


def is_tournament_server(pid, tournament_id):
    """True when `pid` is a live tournament server for `tournament_id` (not a recycled pid, not a
    zombie: a zombie's command line is empty). One read of its command line: the supervisor asks
    this of every forked server each round."""
    return served_tournament(_command_line(pid)) == tournament_id


def tournament_servers_running():
    """{tournament id: [pid, ...]} of every tournament server on this machine, in one pass over
    the process table that reads only command lines."""
    found = {}
    for pid, cmdline in _command_lines():
        tournament_id = served_tournament(cmdline)
        if tournament_id is not None:
            found.setdefault(tournament_id, []).append(pid)
    return found


# Linux's process table as files; elsewhere psutil asks the system.
_PROC = os.path.isdir("/proc/self")


def _command_lines():
    """(pid, argv) of every process (a zombie's is empty). Straight from /proc where there is one:
    a third of what psutil takes for the same pass (bench/fleet_sweep.py)."""
    if not _PROC:
        for process in psutil.process_iter(["cmdline"]):
            yield process.pid, process.info["cmdline"] or []
        return
    for name in os.listdir("/proc"):
        if name.isdigit():
            yield int(name), _command_line(int(name))


def _command_line(pid):
    """The argv of `pid`; [] when it is gone, a zombie or not ours to read. Straight from /proc
    where there is one (psutil's Process costs several reads more)."""
    if not _PROC:
        try:
            process = psutil.Process(pid)
            return [] if process.status() == psutil.STATUS_ZOMBIE else process.cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return []
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            raw = cmdline.read()
    except OSError:  # gone meanwhile, or not ours to read
        return []
    return raw.decode(errors="replace").split("\0")[:-1]


def cpu_seconds(pid):
    """User + system CPU time `pid` has used so far; None when it is gone."""
    try:
        times = psutil.Process(pid).cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    return times.user + times.system


def stop_process(pid, timeout):
    """SIGTERM `pid`, SIGKILL it after `timeout` seconds if it still runs."""
    _terminate(pid, timeout)


def stop_processes(pids, timeout):
    """Stop several processes at once: SIGTERM to all, then SIGKILL to those still running after
    `timeout` seconds (so stopping a fleet takes one grace period, not one per server)."""
    asked = []
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
            asked.append(pid)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while asked and time.monotonic() < deadline:
        asked = [pid for pid in asked if _running(pid)]
        if asked:
            time.sleep(0.05)
    for pid in asked:
        if _running(pid):
            signal_process(pid, signal.SIGKILL)


def _exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the pid is another user's process by now
        return False
    return True


def signal_process(pid, signum):
    """Send `signum` to `pid`; False when it is already gone."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        return False
    return True


def _terminate(pid, timeout, process=None):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None:
            if process.poll() is not None:
                return
        elif not _running(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if process is not None:
        process.wait(timeout=5)


def _running(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
