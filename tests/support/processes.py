"""Starting the platform's real processes on free ports, and stopping them without leftovers."""
import atexit
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


# Linux hands out outgoing connections' ports from 32768 up (ip_local_port_range). The spawner
# now binds a server's port itself and skips taken ones, but a range in there would still lose
# ports to client sockets: test ranges for tournament servers stay below it.
SERVER_PORTS_LOW, SERVER_PORTS_HIGH = 10000, 32000


def server_ports(size, salt=0):
    """(low, high): `size` ports for one orchestrator's tournament servers, outside the ephemeral
    range, spread by this process's pid and `salt` so parallel runs rarely share them."""
    span = SERVER_PORTS_HIGH - SERVER_PORTS_LOW - size
    low = SERVER_PORTS_LOW + (os.getpid() * 37 + salt * 101) % span
    return low, low + size


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_is_free(port):
    """No process listens on `port` (connections in TIME_WAIT don't count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_http(url, timeout=20.0, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


_started = []


@atexit.register
def _kill_leftovers():
    """Whatever a failed teardown left running dies with the test session, not after it."""
    for proc in _started:
        if proc.alive():
            os.killpg(proc.pid, signal.SIGKILL)


class Proc:
    """A real platform process (`run.py ...`) with its output in a log file."""

    def __init__(self, args, env, log_path):
        self.log_path = log_path
        self.env = env
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT,
                                            env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        _started.append(self)

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process.poll() is None

    def kill9(self):
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self, timeout=15):
        """SIGTERM, and wait until the process has exited (an orchestrator stops or hands over its
        fleet first); returns the seconds it took. One that is still running after `timeout`
        seconds is killed with its workers, and that is an error: a stop that hangs is a defect."""
        if not self.alive():
            return None
        self.stop_log_offset = Path(self.log_path).stat().st_size
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
            raise AssertionError(f"{self.process.args} was still running {timeout}s after SIGTERM") from None
        return time.monotonic() - began

    def log(self):
        return Path(self.log_path).read_text(errors="replace")

    def log_of_stop(self):
        """What the process wrote from the last `stop()` on."""
        with open(self.log_path, "rb") as log:
            log.seek(self.stop_log_offset)
            return log.read().decode(errors="replace")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still has a pid; it is not running.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
