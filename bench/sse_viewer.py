"""A cheap SSE viewer for the benchmarks: one raw socket, HTTP/1.1 with chunked decoding, SSE parsing.

Meant for gevent (the importing script calls monkey.patch_all() first): thousands of these run as
greenlets in one process (`Crowd`, the Python load generator; bench/sse_load.py is the C one, which
reads and checks the same bytes the same way for a fraction of the CPU).
"""
import json
import resource
import socket
import time

import gevent

NOT_A_BENCHMARK = "the SSE client bench/sse_fanout.py runs thousands of"


class Viewer:
    """One SSE client on a raw socket; records (id, type, receive time) of every event, across
    reconnections (`drop`, then `run` again: it sends Last-Event-ID, as a browser would)."""

    def __init__(self, port, path):
        self.port, self.path = port, path
        self.events = []  # (id, type, monotonic receive time)
        self.status = self.error = None
        self.connected = False  # the ": connected" comment arrived
        self.bad_data = 0  # data: not JSON, or its seq differs from id:
        self.sock = None

    def drop(self):
        """Close the connection as a client whose network went away would (the caller has
        killed the greenlet in `run`)."""
        if self.sock is not None:
            self.sock.close()
        self.sock, self.connected, self.status = None, False, None

    def run(self):
        try:
            self.sock = sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
            resume = f"Last-Event-ID: {self.events[-1][0]}\r\n" if self.events else ""
            sock.sendall(f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                         f"Accept: text/event-stream\r\n{resume}\r\n".encode())
            # flask-sse sends its headers with the first event, which may be a while.
            sock.settimeout(600)
            buf = b""
            while b"\r\n\r\n" not in buf:
                data = sock.recv(65536)
                if not data:
                    raise EOFError("closed before the response headers")
                buf += data
            head, raw = buf.split(b"\r\n\r\n", 1)
            self.status = int(head.split(b" ", 2)[1])
            if self.status != 200:
                # With the error's body: its code says why.
                length = next((int(line.split(b":", 1)[1]) for line in head.lower().split(b"\r\n")
                               if line.startswith(b"content-length:")), 0)
                while len(raw) < min(length, 1000):
                    data = sock.recv(65536)
                    if not data:
                        break
                    raw += data
                self.error = f"HTTP {self.status} {raw[:200].decode(errors='replace').strip()}".strip()
                return
            chunked = b"transfer-encoding: chunked" in head.lower()
            sock.settimeout(None)  # the bench ends viewers itself (gevent.killall)
            body = b""
            while True:
                now = time.monotonic()
                if chunked:
                    payload, raw = dechunk(raw)
                    body += payload
                else:
                    body, raw = body + raw, b""
                *frames, body = body.split(b"\n\n")
                for frame in frames:
                    self.frame(frame, now)
                data = sock.recv(65536)
                if not data:
                    raise EOFError("the server closed the stream")
                raw += data
        except Exception as exc:  # a viewer must report, never kill the bench
            self.error = f"{type(exc).__name__}: {exc}"

    def frame(self, frame, now):
        fields = {}
        for line in frame.split(b"\n"):
            if line.startswith(b":"):
                self.connected = self.connected or line.startswith(b": connected")
                continue
            name, _, value = line.partition(b":")
            fields[name] = value[1:] if value.startswith(b" ") else value
        if b"data" not in fields:
            return
        seq = int(fields[b"id"])
        try:
            if json.loads(fields[b"data"])["seq"] != seq:
                self.bad_data += 1
        except (ValueError, KeyError):
            self.bad_data += 1
        self.events.append((seq, fields.get(b"event", b"").decode(), now))


class Progress:
    """Where a crowd of viewers stands: opened, connected, failed (an error, not retried), the
    lowest last id of those not failed (-1 while one has none), retries, streams the server ended,
    and when all that have not failed were connected (None unless they are now)."""

    def __init__(self, opened, connected, failed, min_last, retries=0, ends=0, all_connected_at=None):
        self.opened, self.connected, self.failed, self.min_last = opened, connected, failed, min_last
        self.retries, self.ends, self.all_connected_at = retries, ends, all_connected_at

    def reached(self, seq):
        return self.min_last >= seq


class Crowd:
    """The Python load generator: Viewer greenlets in this process, with the interface of
    bench/sse_load.LoadGenerator (connect, progress, drop_all, cpu_seconds, finish)."""
    name = "python"

    def __init__(self, port):
        self.port, self.viewers, self.greenlets = port, [], []
        self.resuming, self.retries, self.all_connected_at = False, 0, None

    def connect(self, count, path, batch, timeout):
        """`count` viewers of `path`, `batch` at a time (each batch waited for, at most `timeout` s);
        seconds until all were connected."""
        started = time.monotonic()
        for first in range(0, count, batch):
            group = [Viewer(self.port, path) for _ in range(min(batch, count - first))]
            self.greenlets += [gevent.spawn(v.run) for v in group]
            self.viewers += group
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not all(v.connected or v.error for v in group):
                gevent.sleep(0.05)
        return time.monotonic() - started

    def progress(self):
        if self.resuming:
            self._retry_failed()
        connected = sum(v.connected for v in self.viewers)
        # After a drop every viewer is retried until it is back: none counts as failed.
        failed = 0 if self.resuming else sum(1 for v in self.viewers if v.error and not v.connected)
        alive = [v for v in self.viewers if not v.error]
        min_last = min((v.events[-1][0] if v.events else -1 for v in alive), default=-1)
        if connected < len(self.viewers) - failed:
            self.all_connected_at = None
        elif self.all_connected_at is None:
            self.all_connected_at = time.monotonic()
        return Progress(len(self.viewers), connected, failed, min_last, self.retries, 0, self.all_connected_at)

    def _retry_failed(self):
        # As a browser's EventSource does, a viewer refused or reset on the way in (a full accept
        # queue, a stream cap) tries again a second later, with its Last-Event-ID.
        for i, v in enumerate(self.viewers):
            if v.error and not v.connected and self.greenlets[i].dead:
                v.error, self.retries = None, self.retries + 1
                v.drop()
                self.greenlets[i] = gevent.spawn_later(1.0, v.run)

    def drop_all(self):
        """Every connection drops at once and all resume with Last-Event-ID; the moment of the drop."""
        gevent.killall(self.greenlets)
        for v in self.viewers:
            v.drop()
        dropped_at = time.monotonic()
        self.greenlets[:] = [gevent.spawn(v.run) for v in self.viewers]
        self.resuming, self.all_connected_at = True, None
        return dropped_at

    def cpu_seconds(self):
        """This whole process's CPU (the viewers and the bench driving the platform)."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def finish(self):
        gevent.killall(self.greenlets, timeout=30)
        return self.viewers


def wait_for(crowd, done, timeout, interval=0.05):
    """Poll `crowd` (a Crowd or a bench/sse_load.LoadGenerator) until done(Progress) or `timeout` s;
    the last Progress."""
    deadline = time.monotonic() + timeout
    while True:
        progress = crowd.progress()
        if done(progress) or time.monotonic() > deadline:
            return progress
        gevent.sleep(interval)


def dechunk(raw):
    """(the payload of the complete chunks in `raw`, the incomplete rest)."""
    out = []
    while True:
        eol = raw.find(b"\r\n")
        if eol < 0:
            break
        size = int(raw[:eol].split(b";")[0], 16)
        if size == 0:
            raise EOFError("the server ended the chunked body")
        end = eol + 2 + size
        if len(raw) < end + 2:
            break
        out.append(raw[eol + 2:end])
        raw = raw[end + 2:]
    return b"".join(out), raw


def crowd_figures(viewers, wanted, sent_at):
    """What `viewers` got of the seqs in `wanted` (a range): events lost, duplicates, out of
    order, latency in ms from `sent_at` ({seq: monotonic time the event was caused}), and
    deliveries (events received)."""
    lost = duplicates = disorder = deliveries = 0
    latency, arrivals = [], {}
    for v in viewers:
        ids = [seq for seq, _, _ in v.events if seq in wanted]
        seen = set(ids)
        lost += len(wanted) - len(seen)
        duplicates += len(ids) - len(seen)
        disorder += sum(1 for a, b in zip(ids, ids[1:]) if b <= a)
        deliveries += len(ids)
        for seq, _kind, at in v.events:
            if seq in sent_at and seq in wanted:
                latency.append((at - sent_at[seq]) * 1000)
                first, last = arrivals.get(seq, (at, at))
                arrivals[seq] = (min(first, at), max(last, at))
    return {"lost": lost, "duplicates": duplicates, "disorder": disorder, "deliveries": deliveries,
            "latency": latency, "spread": [(b - a) * 1000 for a, b in arrivals.values()]}
