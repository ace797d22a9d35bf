"""SSE fan-out: N viewers on one tournament feed while results are recorded at a steady rate.

Starts a fresh platform (bench/harness.py), brings a --teams tournament to ACTIVE, connects --viewers
viewers to GET /api/v1/events/tournaments/<id> on the orchestrator, then records every result through
the gateway (POST /t/<id>/api/matches/<match_id>/result, winner = team1) at --rate results/s.

Viewers are gevent greenlets in this one process, each on a raw socket (HTTP/1.1, chunked decoding,
SSE `id:`/`event:`/`data:` parsing). Latency of a match_result event = the viewer's receive time minus
the moment the bench *sent* the POST that caused it (primary figure), and minus the moment that POST
*returned* (secondary; negative when the event beats the response). One clock: time.monotonic().
The receive time includes this process's own scheduling delay; its CPU use is printed to judge that
(one viewer process: on a 2-core machine more processes would only take CPU from the orchestrator).

Reported: latency p50/p99/max, events expected vs received per viewer, events lost, gaps / disorder /
duplicates, disconnects, the orchestrator's Redis connections, CPU seconds and peak RSS (gunicorn
master + worker, not the tournament server), and the spread between the first and last viewer to get
each event. Exits 1 when an event was lost, a viewer failed, or a POST failed.

    cd /work/main && .venv/bin/python -m bench.sse_fanout --viewers 1000 --rate 5 --teams 64
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness as h  # noqa: E402
from bench.sse_viewer import Viewer  # noqa: E402
from tests.support.api import ok  # noqa: E402


def setup_tournament(api, teams):
    tournament = ok(api.post("/api/v1/tournaments", {"name": "Fan-out Cup", "game": "chess",
                                                       "max_teams": teams, "min_teams": 2}), 201)
    tid = tournament["id"]
    ok(api.post(f"/api/v1/tournaments/{tid}/publish"))
    for number in range(1, teams + 1):
        ok(api.post(f"/t/{tid}/api/teams", {"name": f"Team {number}"}), 201)
    ok(api.post(f"/t/{tid}/api/start"))
    return tid


def connect_viewers(port, tid, count, batch, timeout):
    viewers, greenlets = [], []
    started = time.monotonic()
    for first in range(0, count, batch):
        group = [Viewer(port, f"/api/v1/events/tournaments/{tid}") for _ in range(min(batch, count - first))]
        greenlets += [gevent.spawn(v.run) for v in group]
        viewers += group
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(v.connected or v.error for v in group):
            gevent.sleep(0.05)
    return viewers, greenlets, time.monotonic() - started


def record_results(api, tid, rate, limit_s):
    """POST every pending result, one every 1/rate s; {match_id: (sent, returned)} and errors."""
    times, errors, queue = {}, [], []
    start = time.monotonic()
    for i in range(10_000):
        if not queue:
            pending = ok(api.get(f"/t/{tid}/api/matches", params={"status": "pending"}))["items"]
            if not pending:
                break
            current = min(m["round"] for m in pending)
            queue = [m for m in pending if m["round"] == current]
        gevent.sleep(max(0.0, start + i / rate - time.monotonic()))
        if time.monotonic() - start > limit_s:
            errors.append(f"gave up after {limit_s}s")
            break
        match = queue.pop(0)
        sent = time.monotonic()
        response = api.post(f"/t/{tid}/api/matches/{match['id']}/result", {"winner": match["team1_id"]})
        times[match["id"]] = (sent, time.monotonic())
        if response.status_code != 200:
            errors.append(f"{match['id']}: {response.status_code} {response.text[:200]}")
    return times, errors, time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--viewers", type=int, default=1000, choices=range(1, 20001), metavar="1..20000")
    parser.add_argument("--rate", type=float, default=5.0, help="results per second")
    parser.add_argument("--teams", type=int, default=64)
    parser.add_argument("--batch", type=int, default=500, help="viewers connected at a time")
    parser.add_argument("--connect-timeout", type=float, default=60.0, help="per batch, seconds")
    parser.add_argument("--drain-timeout", type=float, default=60.0, help="after the last result, seconds")
    parser.add_argument("--name", default=None, help="results file name (default sse_fanout_<viewers>)")
    args = h.parse_args(parser, smoke={"viewers": 20, "teams": 4, "rate": 20.0, "batch": 20,
                                       "connect_timeout": 20.0, "drain_timeout": 20.0, "name": "sse_fanout_smoke"})
    fd_limit = h.raise_fd_limit()
    # Every viewer is anonymous from 127.0.0.1: the per-address cap (1000 by default) and the total
    # (10000) must let them all in, as an operator expecting such a crowd behind one address would set.
    caps = {"SSE_STREAMS_PER_ADDRESS": str(max(1000, args.viewers)),
            "SSE_STREAMS_TOTAL": str(max(10000, args.viewers + 100))}
    params = dict(vars(args), fd_limit=fd_limit, viewer_processes=1, orchestrator_env=caps)
    info = h.print_header("SSE fan-out through the orchestrator", params)

    with h.Platform("sse", env=caps) as platform:
        tid = setup_tournament(platform.api, args.teams)
        redis_before = platform.redis_connections()
        cpu0 = platform.cpu_seconds()
        viewers, greenlets, connect_s = connect_viewers(platform.port, tid, args.viewers, args.batch,
                                                        args.connect_timeout)
        gevent.sleep(1.0)
        cpu1, wall1, rusage0 = platform.cpu_seconds(), time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
        start_seq = platform.head_seq(tid)
        times, post_errors, post_s = record_results(platform.api, tid, args.rate, limit_s=args.teams / args.rate + 120)
        final_seq = platform.head_seq(tid)
        deadline = time.monotonic() + args.drain_timeout
        while time.monotonic() < deadline and not all(
                v.error or (v.events and v.events[-1][0] >= final_seq) for v in viewers):
            gevent.sleep(0.1)
        drain_s = time.monotonic() - wall1 - post_s
        cpu2, rusage2 = platform.cpu_seconds(), resource.getrusage(resource.RUSAGE_SELF)
        stream_wall = time.monotonic() - wall1
        redis_during = platform.redis_connections()
        rss = platform.peak_rss_mib()
        errors = [v.error for v in viewers if v.error]
        match_of_seq = {seq: json.loads(payload)["match_id"]
                        for seq, kind, payload in platform.events(tid) if kind == "match_result"}
        gevent.killall(greenlets, timeout=30)
        ok(platform.api.post(f"/api/v1/tournaments/{tid}/archive"))
        log_problems = platform.log_problems()

    expected, wanted = final_seq - start_seq, set(range(start_seq + 1, final_seq + 1))
    from_sent, from_returned, received, disorder, arrivals = [], [], [], 0, {}
    for v in viewers:
        ids = [seq for seq, _, _ in v.events if seq > start_seq]
        disorder += sum(1 for a, b in zip([start_seq] + ids, ids) if b != a + 1)
        received.append(len(set(ids) & wanted))
        for seq, kind, at in v.events:
            if kind == "match_result" and seq in match_of_seq:
                sent, returned = times[match_of_seq[seq]]
                from_sent.append((at - sent) * 1000)
                from_returned.append((at - returned) * 1000)
                first, last = arrivals.get(seq, (at, at))
                arrivals[seq] = (min(first, at), max(last, at))
    bench_cpu = sum(getattr(rusage2, f) - getattr(rusage0, f) for f in ("ru_utime", "ru_stime"))
    f = {
        "results_posted": len(times), "post_errors": post_errors, "post_seconds": round(post_s, 2),
        "post_call_ms": h.percentiles([(back - sent) * 1000 for sent, back in times.values()]),
        "connect_seconds": round(connect_s, 2), "drain_seconds": round(drain_s, 2),
        "latency_ms_from_post_sent": h.percentiles(from_sent),
        "latency_ms_from_post_returned": h.percentiles(from_returned),
        "fanout_spread_ms_first_to_last_viewer": h.percentiles([(b - a) * 1000 for a, b in arrivals.values()]),
        "events_expected_per_viewer": expected, "events_received_per_viewer_min_max": [min(received), max(received)],
        "viewers_connected": sum(v.connected for v in viewers), "viewers_complete": received.count(expected), "events_lost": expected * len(viewers) - sum(received),
        "gaps_or_disorder": disorder, "bad_data_frames": sum(v.bad_data for v in viewers),
        "viewers_with_error": len(errors), "viewer_errors": sorted(set(errors))[:10],
        "orchestrator_redis_connections": {"before_viewers": redis_before[0], "with_viewers": redis_during[0],
                                           "of_which_in_redis_client_list": redis_during[1]},
        "orchestrator_cpu_seconds": {"connect_phase": round(cpu1 - cpu0, 2), "stream_phase": round(cpu2 - cpu1, 2)},
        "stream_phase_wall_seconds": round(stream_wall, 2), "orchestrator_peak_rss_mib_by_pid": rss,
        "bench_process_cpu_seconds_stream_phase": round(bench_cpu, 2), "platform_log_problems": log_problems,
    }
    for key, value in f.items():
        if isinstance(value, dict) and "p50" in value:
            value = " ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in value.items())
        print(f"{key}: {value}")
    h.write_results(args.name or f"sse_fanout_{args.viewers}", {"machine": info, "parameters": params, "figures": f})
    return 0 if not (f["events_lost"] or disorder or errors or post_errors or f["bad_data_frames"]) else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # skip interpreter teardown of thousands of finished greenlets
