"""Throughput: results POSTed at a steady aggregate rate over many ACTIVE tournaments (each its own
tournament server), watched by viewers spread over them; with the flask-sse baseline for the fan-out.

Starts a fresh platform (bench/harness.py), brings --tournaments single-elimination tournaments of
--teams teams to ACTIVE, connects --viewers viewers in all (round robin over the tournaments) to
GET /api/v1/events/tournaments/<id> on the orchestrator, then POSTs results through the gateway
(POST /t/<id>/api/matches/<match_id>/result as the organizer, so each is final) at --rate results/s
in all for --seconds, open-loop: each POST leaves at its scheduled moment in its own greenlet,
whether or not the earlier ones have returned, one tournament after the other.

Figures: achieved results/s; POST latency p50/p99; result accepted (its POST returned) -> the
`match_result` event received by a viewer p50/p99/max (negative when the event beats the answer);
events lost and duplicated (every event of a viewer's tournament from its connection to the end);
CPU of the orchestrator (gunicorn master and worker) and of the tournament servers over the run
(and, before it, with nobody posting: the supervisor's checks of every server and the heartbeats);
the load average. The viewers run in bench/sse_load.c (`--generator python`: greenlets of this
process, bench/sse_viewer.py) and the POSTs are greenlets of this process, all on the same cores, so
the CPU of both is printed too.

Baseline (skip with --no-baseline): the five-line flask-sse app (bench/flask_sse_app.py) under the
same gunicorn settings (gevent, --workers workers), the same number of viewers over as many channels,
receiving the same number of publishes at the same rate from `sse.publish`: publish returned ->
received. It has no gateway, database or check of what it relays: it is the fan-out alone.

    .venv/bin/python -m bench.throughput --tournaments 50 --viewers 1000 --rate 100 --seconds 15
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import collections  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import gevent.pool  # noqa: E402
import psutil  # noqa: E402
import redis  # noqa: E402
import requests  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness as h  # noqa: E402
from bench.sse_load import LoadGenerator  # noqa: E402
from bench.sse_viewer import Viewer  # noqa: E402
from shared.pubsub import opened  # noqa: E402
from tests.support.api import ok  # noqa: E402
from tests.support.processes import free_port, port_is_free, wait_until  # noqa: E402


def setup_tournaments(api, count, teams):
    """`count` ACTIVE single-elimination tournaments; {id: [first-round match, ...]}."""
    def one(number):
        body = {"name": f"Throughput Cup {number}", "game": "chess", "max_teams": teams, "min_teams": 2}
        tid = ok(api.post("/api/v1/tournaments", body), 201)["id"]
        ok(api.post(f"/api/v1/tournaments/{tid}/publish"))
        for team in range(1, teams + 1):
            ok(api.post(f"/t/{tid}/api/teams", {"name": f"Team {team}"}), 201)
        ok(api.post(f"/t/{tid}/api/start"))
        pending = ok(api.get(f"/t/{tid}/api/matches", params={"status": "pending"}))["items"]
        return tid, [m for m in pending if m["team1_id"] and m["team2_id"]]
    # A few at a time: each publish starts a server, and the machine has two cores.
    return dict(gevent.pool.Pool(4).map(one, range(count)))


class Audience:
    """The run's viewers, viewer i on the feed feeds[i] (a tournament or a channel: its `tid`) at
    paths[feed], in the load generator `generator` names: "c" (bench/sse_load.c; at most
    `max_pending` on their way in at once) or "python" (Viewer greenlets in this process)."""

    def __init__(self, generator, port, feeds, paths, max_pending=500):
        if generator == "c":
            self.generator = LoadGenerator(port, max_pending)
            counts = collections.Counter(feeds)
            self.feeds = [feed for feed, count in counts.items() for _ in range(count)]  # opened a feed at a time
            for feed, count in counts.items():
                self.generator.open(count, paths[feed])
        else:
            self.generator, self.viewers = None, [Viewer(port, paths[feed]) for feed in feeds]
            for viewer, feed in zip(self.viewers, feeds):
                viewer.tid = feed
            self.greenlets = [gevent.spawn(v.run) for v in self.viewers]

    def _tagged(self, viewers):
        for viewer, feed in zip(viewers, self.feeds):
            viewer.tid = feed
        return viewers

    def snapshot(self):
        """Every viewer with what it has received so far."""
        return self._tagged(self.generator.viewers()) if self.generator else self.viewers

    def wait(self, done, timeout):
        """Until done(viewer) or an error for every viewer, at most `timeout` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(done(v) or v.error for v in self.snapshot()):
            gevent.sleep(0.1)

    def cpu_seconds(self):
        """The load generator's CPU (with the Python one, this whole process's)."""
        if self.generator:
            return self.generator.cpu_seconds()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def finish(self):
        """Every viewer with all it received; the load generator ends."""
        if self.generator:
            return self._tagged(self.generator.finish())
        gevent.killall(self.greenlets, timeout=30)
        return self.viewers


def open_loop(total, rate, send):
    """Call send(i) in a new greenlet at start + i/rate for i < total; wait for all; (elapsed s)."""
    start, greenlets = time.monotonic(), []
    for i in range(total):
        gevent.sleep(max(0.0, start + i / rate - time.monotonic()))
        greenlets.append(gevent.spawn(send, i))
    gevent.joinall(greenlets)
    return time.monotonic() - start


def delivery(viewers, start_seq, final_seq, sent_at):
    """(latencies ms from sent_at[(tid, seq)], lost, duplicated) over every viewer's events."""
    latencies, lost, duplicated = [], 0, 0
    for v in viewers:
        seqs = [seq for seq, _kind, _at in v.events if seq > start_seq[v.tid]]
        wanted = set(range(start_seq[v.tid] + 1, final_seq[v.tid] + 1))
        lost += len(wanted - set(seqs))
        duplicated += len(seqs) - len(set(seqs))
        for seq, _kind, at in v.events:
            if (v.tid, seq) in sent_at:
                latencies.append((at - sent_at[v.tid, seq]) * 1000)
    return latencies, lost, duplicated


def watch_redis(pattern):
    """({(tournament id, seq): arrival}, greenlet): when each event reached Redis subscribers, to
    split accepted -> viewer into the server's publish and the orchestrator's relay and fan-out."""
    client = redis.Redis.from_url(h.REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.psubscribe(pattern)
    seen = {}

    def listen():
        for message in pubsub.listen():
            text, _vouched = opened(None, "", message["data"].decode())
            seen[message["channel"].decode().split(":")[-2], json.loads(text)["seq"]] = time.monotonic()
    return seen, gevent.spawn(listen)


def drain(audience, final_seq, timeout):
    audience.wait(lambda v: v.events and v.events[-1][0] >= final_seq[v.tid], timeout)


def run_platform(args, caps):
    with h.Platform("throughput", port_count=args.tournaments + 10, env=caps) as platform:
        api = platform.api
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=256)
        api.session.mount("http://", adapter)
        setup_started = time.monotonic()
        matches = setup_tournaments(api, args.tournaments, args.teams)
        setup_s = time.monotonic() - setup_started
        tids = list(matches)
        audience = Audience(args.generator, platform.port, [tids[i % len(tids)] for i in range(args.viewers)],
                            {tid: f"/api/v1/events/tournaments/{tid}" for tid in tids})
        audience.wait(lambda v: v.connected, args.connect_timeout)
        gevent.sleep(1.0)
        start_seq = {tid: platform.head_seq(tid) for tid in tids}
        servers = platform.server_processes()
        total = min(int(args.rate * args.seconds), sum(len(m) for m in matches.values()))
        plan = [(tids[i % len(tids)], matches[tids[i % len(tids)]][i // len(tids)]) for i in range(total)
                if i // len(tids) < len(matches[tids[i % len(tids)]])]
        posts = {}  # (tid, match_id) -> (sent, returned, status)

        def send(i):
            tid, match = plan[i]
            sent = time.monotonic()
            try:
                status = api.post(f"/t/{tid}/api/matches/{match['id']}/result",
                                  {"winner": match["team1_id"]}).status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            posts[tid, match["id"]] = (sent, time.monotonic(), status)

        on_redis, watcher = watch_redis(f"{platform.namespace}tournament:*:events")
        # What the platform costs with nobody posting (the supervisor's checks of every server,
        # heartbeats), to tell from what the results cost.
        idle0, idle_started = (platform.cpu_seconds(), h.cpu_seconds_of(servers)), time.monotonic()
        gevent.sleep(args.idle_seconds)
        idle_s = time.monotonic() - idle_started
        idle = {"orchestrator": (platform.cpu_seconds() - idle0[0]) / idle_s,
                "tournament_servers": (h.cpu_seconds_of(servers) - idle0[1]) / idle_s}
        cpu0 = (platform.cpu_seconds(), h.cpu_seconds_of(servers), resource.getrusage(resource.RUSAGE_SELF),
                audience.cpu_seconds())
        post_s = open_loop(len(plan), args.rate, send)
        final_seq = {tid: platform.head_seq(tid) for tid in tids}
        drain(audience, final_seq, args.drain_timeout)
        rusage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = {"orchestrator": platform.cpu_seconds() - cpu0[0],
               "tournament_servers": h.cpu_seconds_of(servers) - cpu0[1],
               "bench_process": sum(getattr(rusage, f) - getattr(cpu0[2], f) for f in ("ru_utime", "ru_stime")),
               "load_generator": audience.cpu_seconds() - cpu0[3]}
        load = os.getloadavg()
        accepted_at = {}
        for tid in tids:
            for seq, kind, payload in platform.events(tid):
                match_id = json.loads(payload).get("match_id") if kind == "match_result" else None
                if seq > start_seq[tid] and (tid, match_id) in posts:
                    accepted_at[tid, seq] = posts[tid, match_id][1]
        viewers = audience.finish()
        latencies, lost, duplicated = delivery(viewers, start_seq, final_seq, accepted_at)
        relayed, _lost, _dup = delivery(viewers, start_seq, final_seq,
                                        {key: at for key, at in on_redis.items() if key in accepted_at})
        to_redis = [(on_redis[key] - at) * 1000 for key, at in accepted_at.items() if key in on_redis]
        gevent.killall([watcher], timeout=30)
        problems = platform.log_problems()
    errors = sorted({f"{status}" for _s, _r, status in posts.values() if status != 200})
    return {
        "setup_seconds": round(setup_s, 1), "results_posted": len(posts), "post_seconds": round(post_s, 2),
        "results_per_second": round(len(posts) / post_s, 1) if post_s else None, "post_errors": errors,
        "post_ms": h.percentiles([(r - s) * 1000 for s, r, _ in posts.values()]),
        "accepted_to_viewer_ms": h.percentiles(latencies),
        "of_which_accepted_to_redis_ms": h.percentiles(to_redis),
        "of_which_redis_to_viewer_ms": h.percentiles(relayed),
        "events_lost": lost, "events_duplicated": duplicated,
        "viewers_connected": sum(v.connected for v in viewers),
        "viewers_with_error": sum(bool(v.error) for v in viewers),
        "viewer_errors": sorted({v.error for v in viewers if v.error})[:5],
        "cpu_seconds": {k: round(val, 2) for k, val in cpu.items()},
        "cpu_ms_per_result": {k: round(val * 1000 / max(1, len(posts)), 2) for k, val in cpu.items()},
        "idle_cpu_cores_before_posting": {k: round(val, 3) for k, val in idle.items()},
        "tournament_servers": len(servers), "load_average": [round(x, 2) for x in load],
        "platform_log_problems": problems,
    }


def run_flask_sse(args):
    """The same viewers, channels and publish rate on flask-sse: publish returned -> received."""
    from flask_sse import sse

    from bench.flask_sse_app import app

    namespace = os.environ.get("REDIS_NAMESPACE", "") + f"bench-flask-sse-{os.getpid()}:"
    channels = [f"{namespace}t{i}" for i in range(args.tournaments)]
    port = free_port()
    env = {**os.environ, "REDIS_URL": h.REDIS_URL}
    log = tempfile.TemporaryFile()  # gunicorn's own lines; shown only if it fails to start
    # The orchestrator's gunicorn settings (orchestrator/gunicorn_conf.py), with gevent's own worker.
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-k", "gevent", "-w", str(args.workers),
                               "--worker-connections", "20000", "--graceful-timeout", "5", "--keep-alive", "5", "-b", f"127.0.0.1:{port}",
                               "bench.flask_sse_app:app"],
                              cwd=h.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    app.config["REDIS_URL"] = h.REDIS_URL
    try:
        if not wait_until(lambda: not port_is_free(port) or server.poll() is not None, timeout=30) or server.poll():
            log.seek(0)
            raise SystemExit(f"flask-sse's gunicorn did not start:\n{log.read().decode(errors='replace')[-2000:]}")
        # flask-sse sends nothing before the first event, so a viewer is on its way in until then.
        audience = Audience(args.generator, port, [channels[i % len(channels)] for i in range(args.viewers)],
                            {channel: f"/stream?channel={channel}" for channel in channels}, max_pending=0)
        # flask-sse sends its headers with the first message: warm every channel up until each
        # viewer has had one (seq -1: flask-sse drops a falsy id), then measure.
        with app.app_context():
            deadline = time.monotonic() + args.connect_timeout
            while time.monotonic() < deadline and not all(v.events or v.error for v in audience.snapshot()):
                for channel in channels:
                    sse.publish({"seq": -1}, type="warmup", id=-1, channel=channel)
                gevent.sleep(0.5)
            gevent.sleep(0.5)
            procs = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
            cpu0 = h.cpu_seconds_of(procs)
            total = int(args.rate * args.seconds)
            published = {}

            def send(i):
                channel, seq = channels[i % len(channels)], i // len(channels) + 1
                with app.app_context():  # a greenlet does not inherit the caller's context
                    sse.publish({"seq": seq}, type="match_result", id=seq, channel=channel)
                published[channel, seq] = time.monotonic()
            post_s = open_loop(total, args.rate, send)
        final = {c: max([s for (ch, s) in published if ch == c], default=0) for c in channels}
        drain(audience, final, args.drain_timeout)
        cpu = h.cpu_seconds_of(procs) - cpu0
        viewers = audience.finish()
        latencies, lost, duplicated = delivery(viewers, dict.fromkeys(channels, 0), final, published)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    return {"publishes": len(published), "publishes_per_second": round(len(published) / post_s, 1),
            "publish_to_viewer_ms": h.percentiles(latencies), "events_lost": lost, "events_duplicated": duplicated,
            "viewers_with_error": sum(bool(v.error) for v in viewers),
            "viewer_errors": sorted({v.error for v in viewers if v.error})[:5], "server_cpu_seconds": round(cpu, 2),
            "server_cpu_ms_per_publish": round(cpu * 1000 / max(1, len(published)), 2),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def show(prefix, figures):
    for key, value in figures.items():
        if isinstance(value, dict) and "p50" in value:
            value = " ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in value.items())
        print(f"{prefix}{key}: {value}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tournaments", type=int, default=50)
    parser.add_argument("--teams", type=int, default=64, help="per tournament (its first round is played)")
    parser.add_argument("--viewers", type=int, default=1000, help="in all")
    parser.add_argument("--rate", type=float, default=100.0, help="results per second, in all")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--idle-seconds", type=float, default=3.0, help="CPU measured with nobody posting")
    parser.add_argument("--connect-timeout", type=float, default=60.0)
    parser.add_argument("--drain-timeout", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers, of the orchestrator and of flask-sse")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false")
    parser.add_argument("--generator", choices=("c", "python"), default="c",
                        help="the viewers' load generator: bench/sse_load.c, or Python greenlets (bench/sse_viewer.py)")
    parser.add_argument("--name", default="throughput")
    args = h.parse_args(parser, smoke={"tournaments": 2, "teams": 8, "viewers": 10, "rate": 4.0, "seconds": 2.0,
                                       "idle_seconds": 1.0, "connect_timeout": 20.0, "drain_timeout": 15.0,
                                       "name": "throughput_smoke"})
    fd_limit = h.raise_fd_limit()
    caps = {"SSE_STREAMS_PER_ADDRESS": str(max(1000, args.viewers)),
            "SSE_STREAMS_TOTAL": str(max(10000, args.viewers + 100)), "WEB_CONCURRENCY": str(args.workers)}
    params = dict(vars(args), fd_limit=fd_limit)
    info = h.print_header("Throughput: results over many tournaments to their viewers", params)
    figures = {"platform": run_platform(args, caps)}
    show("", figures["platform"])
    if args.baseline:
        figures["flask_sse"] = run_flask_sse(args)
        show("flask-sse ", figures["flask_sse"])
    h.write_results(args.name, {"machine": info, "parameters": params, "figures": figures})
    ours, base = figures["platform"], figures.get("flask_sse", {})
    failed = (ours["post_errors"] or ours["events_lost"] or ours["events_duplicated"] or ours["viewers_with_error"]
              or base.get("events_lost") or base.get("viewers_with_error"))
    return 1 if failed else 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # skip interpreter teardown of thousands of finished greenlets
