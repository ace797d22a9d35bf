"""Starting and stopping tournament servers as local subprocesses (the default spawner).

A spawned server gets a free port from the configured range, its own log file, and dies with the
orchestrator worker that started it (PR_SET_PDEATHSIG), so a crashed orchestrator leaves no orphan.
"""
import atexit
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests

from shared.processes import die_with_parent

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
        self._children = {}  # tournament id -> Popen we started
        self._lock = threading.Lock()
        atexit.register(self.stop_all)

    def start(self, tournament_id, taken_ports=()):
        """Start a server for `tournament_id` and wait until it answers.

        :raise SpawnError: when no port is free or the server does not answer in time.
        """
        with self._lock:
            ours = {int(p.args[p.args.index("--port") + 1]) for p in self._children.values()}
            for port in self.ports:
                if port in ours or port in taken_ports or not port_is_free(self.host, port):
                    continue
                process = self._launch(tournament_id, port)
                self._children[tournament_id] = process
                break
            else:
                raise SpawnError(f"no free port in {self.ports.start}-{self.ports.stop - 1}")
        handle = ServerHandle(tournament_id, self.host, port, process.pid)
        try:
            self._wait_ready(handle, process)
        except SpawnError:
            self.stop(tournament_id, process.pid)
            raise
        return handle

    def _launch(self, tournament_id, port):
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"tournament-{tournament_id}.log", "ab") as output:
            return subprocess.Popen(
                [sys.executable, RUN_PY, "tournament", "--id", tournament_id,
                 "--host", self.host, "--port", str(port)],
                env={**os.environ, **self.env}, stdout=output, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, preexec_fn=die_with_parent, close_fds=True,
            )

    def _wait_ready(self, handle, process):
        deadline = time.monotonic() + self.start_timeout
        url = f"http://{handle.endpoint}/api/state"
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SpawnError(f"tournament server exited with code {process.returncode} "
                                 f"(see tournament-{handle.tournament_id}.log)")
            try:
                if requests.get(url, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise SpawnError(f"tournament server did not answer within {self.start_timeout:.0f}s")

    def stop(self, tournament_id, pid=None):
        """Stop the tournament's server: SIGTERM, a grace period, then SIGKILL."""
        with self._lock:
            process = self._children.pop(tournament_id, None)
        if process is not None:
            _terminate(process.pid, self.stop_timeout, process)
        elif pid and is_tournament_server(pid, tournament_id):
            _terminate(pid, self.stop_timeout)

    def stop_all(self):
        with self._lock:
            children = list(self._children.items())
            self._children.clear()
        for _tid, process in children:
            _terminate(process.pid, self.stop_timeout, process)

    def is_alive(self, endpoint):
        """True when the server at `endpoint` answers its state query."""
        try:
            return requests.get(f"http://{endpoint}/api/state", timeout=2).status_code == 200
        except requests.RequestException:
            return False


def is_tournament_server(pid, tournament_id):
    """True when `pid` is a live tournament server for `tournament_id` (not a recycled pid)."""
    try:
        cmdline = psutil.Process(pid).cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    return "tournament" in cmdline and tournament_id in cmdline and any(a.endswith("run.py") for a in cmdline)


def _terminate(pid, timeout, process=None):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None:
            if process.poll() is not None:
                return
        elif not psutil.pid_exists(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if process is not None:
        process.wait(timeout=5)
