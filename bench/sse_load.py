"""The C SSE load generator (bench/sse_load.c) from Python: built once per version of its source, driven
over its stdin/stdout, its records read back as viewers that bench/sse_viewer.crowd_figures takes.

Why C: thousands of Python viewers (bench/sse_viewer.py, gevent greenlets) spent ~31 us of CPU per
event received, ~3x what the server spent sending it, on the same 2 cores; the figures were the load
generator's. The C one reads and parses the same bytes the same way at a fraction of that, and the
statistics stay in Python, the same code for both generators.
"""
import hashlib
import math
import os
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from bench.sse_viewer import Progress, wait_for

NOT_A_BENCHMARK = "the driver of the C SSE load generator the SSE benchmarks run"

SOURCE = Path(__file__).with_name("sse_load.c")
RECORD = struct.Struct("<IHHqd")  # viewer, type, bad data, id, CLOCK_MONOTONIC seconds
VIEWER_STATE = struct.Struct("<iBBIII120s")  # status, connected, failed, bad_data, retries, ends, error


def cache_dir():
    """Where built binaries are kept: outside the clone, shared by its runs (a fresh clone or CI
    run builds once, ~1 s)."""
    base = os.environ.get("PLATFORM_CACHE")
    base = Path(base, "bench") if base else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache",
                                                 "tournament-platform", "bench")
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError:  # no writable home (a locked-down CI user)
        base = Path(tempfile.gettempdir(), "tournament-platform-bench")
        base.mkdir(exist_ok=True)
    return base


def binary():
    """The path of the generator built from the current source with `cc -O2` (built if missing).

    :raise RuntimeError: when there is no C compiler or the build fails (scripts/services installs one).
    """
    source = SOURCE.read_bytes()
    path = cache_dir() / f"sse_load-{hashlib.sha256(source).hexdigest()[:16]}"
    if not path.exists():
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # concurrent runs: each its own, then renamed
        try:
            built = subprocess.run(["cc", "-O2", "-std=c99", "-Wall", "-o", str(partial), str(SOURCE)],
                                   capture_output=True, text=True)
        except FileNotFoundError:
            raise RuntimeError("no C compiler (`cc`) to build bench/sse_load.c: run scripts/services, "
                               "which installs gcc, or use --generator python") from None
        if built.returncode != 0:
            raise RuntimeError(f"building bench/sse_load.c failed:\n{built.stderr[-2000:]}")
        os.replace(partial, path)
    return path


class Viewer:
    """What one C viewer did, read from the dump: the attributes crowd_figures and the benches read
    of bench/sse_viewer.Viewer."""
    __slots__ = ("events", "error", "connected", "bad_data", "status", "retries", "ends", "tid")

    def __init__(self):
        self.events = []  # (id, type, monotonic receive time)
        self.error, self.tid = None, None


class LoadGenerator:
    """One generator process (its viewers all on 127.0.0.1:`port`); a context manager. At most
    `max_pending` viewers on their way in at once (0: no limit) and `rate` new connections a
    second (0: no limit). `connect`, `progress`, `drop_all`, `cpu_seconds` and `finish` are the
    crowd interface bench/sse_viewer.Crowd shares."""
    name = "c"

    def __init__(self, port, max_pending=500, rate=0):
        self.proc = subprocess.Popen([str(binary()), str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.process = psutil.Process(self.proc.pid)
        self.pace(max_pending, rate)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if not answer or answer.startswith("error"):
            raise RuntimeError(f"sse_load: {line!r} -> {answer or 'exited %s' % self.proc.poll()}")
        return answer

    def pace(self, max_pending, rate=0):
        self.ask(f"pace {max_pending} {rate}")

    def open(self, count, path):
        """`count` more viewers of `path`; the range of their indices."""
        _, first, count = self.ask(f"open {count} {path}").split()
        return range(int(first), int(first) + int(count))

    def progress(self):
        fields = dict(part.split("=", 1) for part in self.ask("status").split()[1:])
        at = float(fields["all_at"])
        return Progress(opened=int(fields["opened"]), connected=int(fields["connected"]),
                        failed=int(fields["failed"]), min_last=int(fields["min_last"]),
                        retries=int(fields["retries"]), ends=int(fields["ends"]),
                        all_connected_at=at if at >= 0 else None)

    def connect(self, count, path, batch, timeout):
        """Open `count` viewers of `path`, at most `batch` on their way in at a time; seconds until
        all were connected (or failed), waiting at most `timeout` s per `batch` viewers."""
        self.pace(batch)
        started = time.monotonic()
        self.open(count, path)
        progress = wait_for(self, lambda p: p.all_connected_at is not None, timeout * math.ceil(count / batch), 0.02)
        return (progress.all_connected_at or time.monotonic()) - started

    def drop_all(self):
        """The reconnect storm, all at once as browsers' EventSources would; the moment of the drop."""
        self.pace(0)
        return self.storm()

    def finish(self):
        """Every viewer's events and state (Viewer objects); the generator ends."""
        viewers = self.viewers()
        self.close()
        return viewers

    def storm(self):
        """Close every connection at once and reconnect all with Last-Event-ID; the moment of the drop."""
        return float(self.ask("storm").split()[1])

    def cpu_seconds(self):
        times = self.process.cpu_times()
        return times.user + times.system

    def viewers(self):
        """Every viewer's events and state so far, as Viewer objects (in the order opened)."""
        with tempfile.NamedTemporaryFile(prefix="sse_load-", suffix=".bin") as dump:
            self.ask(f"dump {dump.name}")
            data = Path(dump.name).read_bytes()
        assert data[:8] == b"SSELOAD1", data[:8]
        count, ntypes = struct.unpack_from("<II", data, 8)
        at, types = 16, []
        for _ in range(ntypes):
            (length,) = struct.unpack_from("<H", data, at)
            types.append(data[at + 2:at + 2 + length].decode())
            at += 2 + length
        (nrecords,) = struct.unpack_from("<Q", data, at)
        at += 8
        viewers = [Viewer() for _ in range(count)]
        for index, kind, _bad, seq, t in RECORD.iter_unpack(data[at:at + nrecords * RECORD.size]):
            viewers[index].events.append((seq, types[kind], t))
        at += nrecords * RECORD.size
        for v, state in zip(viewers, VIEWER_STATE.iter_unpack(data[at:at + count * VIEWER_STATE.size])):
            v.status, connected, failed, v.bad_data, v.retries, v.ends, error = state
            v.connected = bool(connected)
            v.error = error.rstrip(b"\0").decode(errors="replace") if failed else None
        return viewers

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass
