"""Starting and stopping tournament servers as local subprocesses (the default spawner).

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
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import psutil
import requests

log = logging.getLogger(__name__)

RUN_PY = str(Path(__file__).resolve().parent.parent / "run.py")


class SpawnError(Exception):
    """A tournament server did not come up."""


@dataclass
class ServerHandle:
    tournament_id: str
    host: str
    port: int
    pid: int
    token: str
    started_at: datetime

    @property
    def endpoint(self):
        return f"{self.host}:{self.port}"


def port_is_free(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Servers rebind over TIME_WAIT leftovers (SO_REUSEADDR), so only a listener makes it taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class SubprocessSpawner:
    """Runs `python run.py tournament --id ID --port P` per tournament."""

    def __init__(self, host, port_range, env, log_dir, start_timeout=20.0, stop_timeout=5.0):
        self.host = host
        self.ports = range(port_range[0], port_range[1] + 1)
        self.env = env
        self.log_dir = Path(log_dir)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._children = {}  # pid -> Popen, so our own children are reaped, not left as zombies
        self._lock = threading.Lock()

    def start(self, tournament_id, taken_ports=()):
        """Start a server for `tournament_id` and wait until it answers as itself.

        :raise SpawnError: when no port is free or the server does not answer in time.
        """
        token = secrets.token_hex(16)
        with self._lock:
            # A child launched a moment ago may not have bound its port yet: ours are taken too.
            ours = {child.port for child in self._children.values() if child.poll() is None}
            for port in self.ports:
                if port not in taken_ports and port not in ours and port_is_free(self.host, port):
                    process = self._launch(tournament_id, port, token)
                    self._children[process.pid] = process
                    break
            else:
                raise SpawnError(f"no free port in {self.ports.start}-{self.ports.stop - 1}")
        handle = ServerHandle(tournament_id, self.host, port, process.pid, token, datetime.now(timezone.utc))
        try:
            self._wait_ready(handle, process)
        except SpawnError:
            self.stop(handle.pid, tournament_id)
            raise
        return handle

    def _launch(self, tournament_id, port, token):
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, "SERVER_TOKEN": token,
               "LOG_FILE": str(self.log_dir / f"tournament-{tournament_id}.log")}
        # Only what is printed before logging is set up (a failed import, say) lands here.
        with open(self.log_dir / f"tournament-{tournament_id}.out", "wb") as early_output:
            child = subprocess.Popen(
                [sys.executable, RUN_PY, "tournament", "--id", tournament_id, "--host", self.host, "--port", str(port)],
                env=env, stdout=early_output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, close_fds=True)
        child.port = port
        return child

    def _wait_ready(self, handle, process):
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SpawnError(f"tournament server exited with code {process.returncode} "
                                 f"(see tournament-{handle.tournament_id}.log)")
            if self.health(handle.host, handle.port, handle.tournament_id, handle.token, timeout=1):
                return
            time.sleep(0.05)
        raise SpawnError(f"tournament server did not answer within {self.start_timeout:.0f}s")

    def health(self, host, port, tournament_id, token, timeout=1.0):
        """True when the server at host:port answers its health check as this tournament and start."""
        try:
            response = requests.get(f"http://{host}:{port}/api/health", timeout=timeout)
            body = response.json() if response.status_code == 200 else {}
        except (requests.RequestException, ValueError):
            return False
        return body.get("tournament_id") == tournament_id and body.get("token") == token

    def stop(self, pid, tournament_id):
        """Stop the tournament's server: SIGTERM, a grace period, then SIGKILL.

        Only a process that really is this tournament's server is signalled, never a recycled pid.
        """
        with self._lock:
            child = self._children.pop(pid, None)
        if child is not None:
            _terminate(pid, self.stop_timeout, child)
        elif pid and is_tournament_server(pid, tournament_id):
            _terminate(pid, self.stop_timeout)

    def stop_all(self):
        """Stop every server this process started that still runs (tests, single-process use)."""
        with self._lock:
            children = list(self._children.values())
            self._children.clear()
        for child in children:
            _terminate(child.pid, self.stop_timeout, child)

    def reap(self):
        """Collect our children that exited, so their pids read as dead."""
        with self._lock:
            for pid, child in list(self._children.items()):
                if child.poll() is not None:
                    del self._children[pid]


def is_tournament_server(pid, tournament_id):
    """True when `pid` is a live tournament server for `tournament_id` (not a recycled pid)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline = process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    return ("tournament" in cmdline and "--id" in cmdline and tournament_id in cmdline
            and any(arg.endswith("run.py") for arg in cmdline))


def stop_process(pid, timeout):
    """SIGTERM `pid`, SIGKILL it after `timeout` seconds if it still runs."""
    _terminate(pid, timeout)


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
