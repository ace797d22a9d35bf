"""The flask-sse side of bench/sse_fanout.py: the same viewers and result rate against flask-sse's
own app (bench/flask_sse_app.py) served by gunicorn with the orchestrator's gevent settings.

Each event is published through flask-sse's `sse.publish` (its JSON through Redis, one
subscription per viewer); latency counts from the moment the bench calls it. Viewers count as
connected once Redis sees their subscription (flask-sse sends nothing before the first event).
flask-sse ignores Last-Event-ID, so it has no reconnect storm to compare. The viewers run in the
load generator ours ran in (`--generator`).
"""
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import gevent
import psutil
import redis
from flask import Flask
from flask_sse import sse

from bench import harness as h
from bench.sse_load import LoadGenerator
from bench.sse_viewer import Viewer, crowd_figures, wait_for

NOT_A_BENCHMARK = "the flask-sse baseline bench/sse_fanout.py --baseline runs beside its own figures"

ROOT = Path(__file__).resolve().parents[1]


class FlaskSSE:
    """flask-sse under gunicorn (gevent worker, as orchestrator/gunicorn_conf.py sets it); a
    context manager."""

    def __init__(self, workers, log_path):
        self.workers, self.log_path = workers, log_path
        self.port = h.free_port()
        self.channel = f"{os.environ.get('REDIS_NAMESPACE', '')}bench-flask-sse-{uuid.uuid4().hex[:10]}"
        self.proc = None

    def __enter__(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-k", "gevent", "--worker-connections", "20000",
             "-w", str(self.workers), "--keep-alive", "5", "--timeout", "30", "--graceful-timeout", "5",
             "-b", f"127.0.0.1:{self.port}", "bench.flask_sse_app:app"],
            cwd=ROOT, env={**os.environ, "REDIS_URL": h.REDIS_URL}, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                gevent.sleep(0.1)
        self.redis = redis.Redis.from_url(h.REDIS_URL)
        self.app = Flask("bench-publisher")
        self.app.config["REDIS_URL"] = h.REDIS_URL
        return self

    def __exit__(self, *_):
        self.redis.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def processes(self):
        master = psutil.Process(self.proc.pid)
        return [master, *master.children(recursive=True)]

    def cpu_seconds(self):
        return sum(sum(p.cpu_times()[:2]) for p in self.processes())

    def redis_connections(self):
        return sum(1 for p in self.processes() for c in p.net_connections(kind="tcp")
                   if c.raddr and c.raddr.port == h.REDIS_PORT and c.status == psutil.CONN_ESTABLISHED)

    def subscribers(self):
        return dict(self.redis.pubsub_numsub(self.channel)).get(self.channel.encode(), 0)

    def publish(self, seq):
        with self.app.app_context():
            sse.publish({"seq": seq, "type": "match_result", "match_id": f"r1_match_{seq}",
                         "winner": "team_1", "loser": "team_2", "scores": None},
                        type="match_result", id=seq, channel=self.channel)


def run(args, results, log_path):
    """Figures of flask-sse for `results` events at `args.rate` to `args.viewers` viewers."""
    with FlaskSSE(args.baseline_workers or args.workers, log_path) as server:
        cpu0 = server.cpu_seconds()
        # The C generator's viewers count as on their way in until flask-sse's first event (it sends
        # no comment first): no limit on those, the batches pace them.
        generator = LoadGenerator(server.port, max_pending=0) if args.generator == "c" else None
        viewers, greenlets = [], []
        path = f"/stream?channel={server.channel}"
        started = time.monotonic()
        for first in range(0, args.viewers, args.batch):
            count = min(args.batch, args.viewers - first)
            if generator:
                generator.open(count, path)
            else:
                group = [Viewer(server.port, path) for _ in range(count)]
                greenlets += [gevent.spawn(v.run) for v in group]
                viewers += group
            deadline = time.monotonic() + args.connect_timeout
            while time.monotonic() < deadline and server.subscribers() < first + count:
                gevent.sleep(0.05)
        connect_s = time.monotonic() - started
        subscribed = server.subscribers()
        gevent.sleep(1.0)
        cpu1 = server.cpu_seconds()
        redis_connections = server.redis_connections()
        sent_at, start = {}, time.monotonic()
        for seq in range(1, results + 1):
            gevent.sleep(max(0.0, start + (seq - 1) / args.rate - time.monotonic()))
            sent_at[seq] = time.monotonic()
            server.publish(seq)
        if generator:
            wait_for(generator, lambda p: p.reached(results), args.drain_timeout, 0.1)
        else:
            deadline = time.monotonic() + args.drain_timeout
            while time.monotonic() < deadline and not all(v.error or (v.events and v.events[-1][0] >= results)
                                                          for v in viewers):
                gevent.sleep(0.1)
        cpu2 = server.cpu_seconds()
        if generator:
            viewers = generator.finish()
        else:
            gevent.killall(greenlets, timeout=30)
    crowd = crowd_figures(viewers, range(1, results + 1), sent_at)
    return {"connect_seconds": connect_s, "viewers_connected": subscribed,
            "connect_cpu_seconds": cpu1 - cpu0, "stream_cpu_seconds": cpu2 - cpu1, "redis_connections": redis_connections,
            "viewer_errors": sorted({v.error for v in viewers if v.error})[:5], **crowd}
