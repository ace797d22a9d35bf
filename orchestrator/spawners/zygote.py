"""The subprocess spawner's side of the zygote (tournament_service/zygote.py): asking it to fork a
server, keeping it alive, starting a new one when there is none or it runs old code.

The zygote is detached (its own session) and outlives the orchestrator that started it; the next
orchestrator of the same instance folder finds it at the same socket. Nothing here waits for a
zygote to come up: when none answers, the spawner starts the server by exec this once, and the
zygote being launched meanwhile serves the next starts.
"""
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from shared import zygote_protocol as protocol

log = logging.getLogger(__name__)

RUN_PY = str(Path(__file__).resolve().parents[2] / "run.py")
# The zygote's command line leaves this much room for a forked server's own (its tournament id,
# host, port and listening socket: under 150 bytes).
TITLE_ROOM = 400
# A zygote that fails to come up is not launched again before this many seconds.
RELAUNCH_EVERY = 10.0


class ZygoteUnavailable(Exception):
    """No zygote forked the server. `sent` is True when the listening socket may have reached it
    (the answer was lost): that socket must not be handed to another server then."""

    def __init__(self, message, sent=False):
        super().__init__(message)
        self.sent = sent


class Zygote:
    """The zygote of one instance folder, as seen from an orchestrator process."""

    def __init__(self, instance_path, env, log_dir, idle_exit=60.0, timeout=5.0, warm_wait=3.0):
        self.instance_path = os.path.realpath(instance_path)
        self.address = protocol.address(self.instance_path)
        self.env = env
        self.log_dir = Path(log_dir)
        self.idle_exit = idle_exit
        self.timeout = timeout
        self.warm_wait = warm_wait
        self.stamp = protocol.code_stamp(sys.executable, self._environ())
        self._launched_at = -RELAUNCH_EVERY
        self._hello_at = -RELAUNCH_EVERY
        self._lock = threading.Lock()

    def fork(self, tournament_id, host, port, listener, env, out_path):
        """Have the zygote fork a server serving `listener`; returns its pid.

        :raise ZygoteUnavailable: none answered, or it could not fork (it is then relaunched).
        """
        request = {"op": "fork", "stamp": self.stamp, "tournament_id": tournament_id, "host": host,
                   "port": port, "env": env, "out": str(out_path)}
        try:
            conn = self._connect()
        except OSError:
            self.launch()
            try:
                conn = self._connect_when_warm()
            except OSError as exc:
                raise ZygoteUnavailable(f"no zygote answers ({exc})") from None
        with conn:
            try:
                protocol.send(conn, request, [listener.fileno()])
                answer, _fds = protocol.receive(conn)
            except (OSError, ValueError) as exc:
                raise ZygoteUnavailable(f"the zygote did not answer ({exc})", sent=True) from None
        if "pid" not in answer:
            self.launch()  # it leaves when it runs other code than ours; a new one loads ours
            raise ZygoteUnavailable(answer.get("error", "no pid in its answer"))
        return int(answer["pid"])

    def keep_alive(self, every=5.0):
        """Say hello every `every` seconds (a zygote leaves when nobody asks for a while) and
        launch one when none answers or it runs old code. Cheap enough for every supervisor round."""
        now = time.monotonic()
        if now - self._hello_at < every:
            return
        self._hello_at = now
        self.stamp = protocol.code_stamp(sys.executable, self._environ())
        answer = self._ask({"op": "hello"})
        if answer is None:
            self.launch()
        elif answer.get("stamp") != self.stamp:
            log.info("zygote %s runs other code than ours (files or PYTHON* settings); replacing it", answer.get("pid"))
            self._ask({"op": "exit"})
            self.launch(force=True)

    def launch(self, force=False):
        """Start a zygote in the background (at most once per RELAUNCH_EVERY seconds unless
        `force`); it answers once it has imported the server's code."""
        with self._lock:
            now = time.monotonic()
            if not force and now - self._launched_at < RELAUNCH_EVERY:
                return
            self._launched_at = now
            self.log_dir.mkdir(parents=True, exist_ok=True)
            env = self._environ()
            with open(self.log_dir / "zygote.out", "ab") as early_output:
                launcher = subprocess.Popen(
                    [sys.executable, RUN_PY, "zygote", "--instance", self.instance_path,
                     "--idle-exit", str(self.idle_exit), "--title-room", "x" * TITLE_ROOM],
                    env=env, stdout=early_output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True, close_fds=True)
            try:
                launcher.wait(timeout=10)  # it forks the zygote and exits at once
            except subprocess.TimeoutExpired:
                log.warning("the zygote's launcher %d did not exit; leaving it", launcher.pid)
        log.info("launched a zygote for %s", self.instance_path)

    def _environ(self):
        """What a zygote launched now, and a server exec'd now, start with."""
        env = {**os.environ, **self.env}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        return env

    def answers(self):
        """True when a zygote answers at this instance folder's socket."""
        return self._ask({"op": "hello"}) is not None

    def stop(self):
        """Ask the zygote to leave (its servers stay); False when none answered."""
        return self._ask({"op": "exit"}) is not None

    def _ask(self, request):
        try:
            with self._connect() as conn:
                protocol.send(conn, request)
                return protocol.receive(conn)[0]
        except (OSError, ValueError):
            return None

    def _connect_when_warm(self):
        """Connect; within `warm_wait` seconds of launching a zygote, wait for it to finish its
        imports (well under a second, a few on a loaded machine) rather than exec a server."""
        while True:
            try:
                return self._connect()
            except OSError:
                if time.monotonic() >= self._launched_at + self.warm_wait:
                    raise
            time.sleep(0.02)

    def _connect(self):
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(self.timeout)
        try:
            conn.connect(self.address)
            # An abstract name can be taken by anyone: never hand our settings to another user's.
            if not protocol.same_user(conn):
                raise OSError("the zygote's socket belongs to another user")
        except OSError:
            conn.close()
            raise
        return conn
