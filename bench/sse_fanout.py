"""SSE fan-out: N viewers on one tournament feed while results are recorded at a steady rate.

Starts a fresh platform (bench/harness.py; --workers gunicorn workers), brings a --teams tournament to
ACTIVE, connects --viewers viewers to GET /api/v1/events/tournaments/<id> on the orchestrator, then
records every result through the gateway (POST /t/<id>/api/matches/<match_id>/result, winner = team1)
at --rate results/s.

Viewers run in bench/sse_load.c, a C load generator (one thread, epoll; built with `cc` on first use),
or with `--generator python` as gevent greenlets in this process (bench/sse_viewer.py); both read
raw sockets (HTTP/1.1, chunked decoding, SSE `id:`/`event:`/`data:` parsing, data's seq checked
against id) and hand the same records to the same statistics. Latency of a match_result event = the
viewer's receive time minus the moment the bench *sent* the POST that caused it (primary figure),
and minus the moment that POST *returned* (secondary; negative when the event beats the response).
One clock: CLOCK_MONOTONIC (Python's time.monotonic()). The receive time includes the load
generator's own scheduling delay on the same cores; its CPU is printed per phase to judge that (the
Python viewers spent ~3x the orchestrator's CPU per event at 10,000 viewers, the C ones a fraction).

--storm: a third into the results every viewer's connection drops at once and all resume together
with Last-Event-ID while results keep flowing: seconds until every viewer has all that was committed
by then, and (over the whole run) events lost and duplicated. A viewer refused or reset on the way
in tries again as EventSource would (the C one after 0.5-1 s, doubling up to 8 s; the Python one
after 1 s).

--baseline: the same viewers and number of events at the same rate against flask-sse (PyPI) under
gunicorn with the same gevent settings (bench/sse_baseline.py), printed side by side with ours:
latency (flask-sse's from its Redis publish), lost, connect time, CPU of the server processes per
delivery (event received by a viewer) and its ratio, Redis connections.

Reported: latency p50/p99/max, events lost, duplicates / disorder, viewer errors, the orchestrator's
Redis connections, CPU seconds (gunicorn master + workers, not the tournament server) and the load
generator's while viewers connect, while events stream and in the storm, peak RSS, the spread between
the first and last viewer to get each event, connections the kernel's full accept queue turned away
(the whole machine's count), and the load average before and after (the machine is shared). Exits
1 when one of our events was lost or duplicated, a viewer failed, the server ended a stream, or a
POST failed.

    .venv/bin/python -m bench.sse_fanout --viewers 1000 --rate 2 --teams 64 --baseline --storm
    .venv/bin/python -m bench.sse_fanout --viewers 10000 --storm --generator python
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import requests  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness as h, sse_baseline  # noqa: E402
from bench.sse_load import LoadGenerator  # noqa: E402
from bench.sse_viewer import Crowd, crowd_figures, wait_for  # noqa: E402
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


def record_results(api, tid, rate, limit_s, count=10_000):
    """POST pending results (at most `count`), one every 1/rate s; {match_id: (sent, returned)} and errors."""
    times, errors, queue = {}, [], []
    start = time.monotonic()
    for i in range(count):
        if not queue:
            try:
                pending = ok(api.get(f"/t/{tid}/api/matches", params={"status": "pending"}))["items"]
            except requests.RequestException as exc:
                # An orchestrator swamped by a reconnect storm: a failed request, not a failed bench.
                errors.append(f"pending matches: {type(exc).__name__}")
                break
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
        try:
            response = api.post(f"/t/{tid}/api/matches/{match['id']}/result", {"winner": match["team1_id"]})
        except requests.RequestException as exc:
            errors.append(f"{match['id']}: {type(exc).__name__}")
            continue
        times[match["id"]] = (sent, time.monotonic())
        if response.status_code != 200:
            errors.append(f"{match['id']}: {response.status_code} {response.text[:200]}")
    return times, errors, time.monotonic() - start


def listen_overflows():
    """The kernel's count of connections a full accept queue turned away (TcpExt ListenOverflows,
    the whole machine's): each is a SYN dropped, which the client's kernel sends again 1, 3, 7 s
    ... later, whatever the load generator does."""
    with open("/proc/net/netstat") as netstat:
        names, values = [line.split() for line in netstat if line.startswith("TcpExt:")][:2]
    return int(values[names.index("ListenOverflows")])


def drop_and_resume(crowd, platform, tid, timeout):
    """The reconnect storm: every viewer's connection drops at once and all come back together
    with Last-Event-ID while results keep flowing. Caught up: every viewer is connected again and
    has everything committed by the moment the last of them was."""
    seq_at_drop = platform.head_seq(tid)
    cpu0, retries0 = (platform.cpu_seconds(), crowd.cpu_seconds()), crowd.progress().retries
    overflows0 = listen_overflows()
    dropped_at = crowd.drop_all()
    deadline = dropped_at + timeout
    back = wait_for(crowd, lambda p: p.all_connected_at is not None, timeout)
    reconnected_s = (back.all_connected_at or time.monotonic()) - dropped_at
    target = platform.head_seq(tid)
    caught_up = wait_for(crowd, lambda p: p.all_connected_at is not None and p.reached(target),
                         max(0.0, deadline - time.monotonic()))
    caught_up_s = time.monotonic() - dropped_at
    done = caught_up.all_connected_at is not None and caught_up.reached(target)
    return {"all_reconnected_seconds": round(reconnected_s, 2), "retries": caught_up.retries - retries0,
            "caught_up_seconds": round(caught_up_s, 2),
            "viewers_not_caught_up": 0 if done else f"not within {timeout} s: {caught_up.connected} of "
            f"{caught_up.opened} connected, lowest last id {caught_up.min_last} of {target}",
            "seq_at_drop": seq_at_drop, "seq_when_all_were_back": target,
            "accept_queue_overflows": listen_overflows() - overflows0,
            "orchestrator_cpu_seconds": round(platform.cpu_seconds() - cpu0[0], 2),
            "generator_cpu_seconds": round(crowd.cpu_seconds() - cpu0[1], 2)}


def drain(crowd, final_seq, timeout):
    """Wait until every viewer has `final_seq` (or failed), at most `timeout` s; return final_seq."""
    wait_for(crowd, lambda p: p.reached(final_seq), timeout, 0.1)
    return final_seq


def open_crowd(args, port):
    """The load generator the viewers run in: the C one (bench/sse_load.py) or Python greenlets."""
    return LoadGenerator(port) if args.generator == "c" else Crowd(port)


def run_ours(args, caps):
    """Figures of the platform for `args.viewers` viewers and a tournament of `args.teams`."""
    env = {**caps, "WEB_CONCURRENCY": str(args.workers)}
    with h.Platform("sse", env=env) as platform:
        tid = setup_tournament(platform.api, args.teams)
        redis_before = platform.redis_connections()
        crowd = open_crowd(args, platform.port)
        cpu0, generator0, overflows0 = platform.cpu_seconds(), crowd.cpu_seconds(), listen_overflows()
        connect_s = crowd.connect(args.viewers, f"/api/v1/events/tournaments/{tid}", args.batch, args.connect_timeout)
        generator1, connect_overflows = crowd.cpu_seconds(), listen_overflows() - overflows0
        gevent.sleep(1.0)
        cpu1, wall1, rusage0 = platform.cpu_seconds(), time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
        generator_stream0 = crowd.cpu_seconds()
        start_seq = platform.head_seq(tid)
        # The steady phase (all results, or the first half with --storm) is what the figures and
        # the CPU per delivery are of; the storm comes after it, with the other half flowing.
        steady = (args.teams - 1) // 2 if args.storm else args.teams - 1
        times, post_errors, post_s = record_results(platform.api, tid, args.rate, args.teams / args.rate + 120, steady)
        final_seq = drain(crowd, platform.head_seq(tid), args.drain_timeout)
        cpu2, rusage2, generator2 = platform.cpu_seconds(), resource.getrusage(resource.RUSAGE_SELF), crowd.cpu_seconds()
        stream_wall = time.monotonic() - wall1
        storm = None
        if args.storm:
            poster = gevent.spawn(record_results, platform.api, tid, args.rate, args.teams / args.rate + 120)
            gevent.sleep(2 / args.rate)
            storm = drop_and_resume(crowd, platform, tid, args.drain_timeout)
            storm_times, storm_errors, _ = poster.get()
            times.update(storm_times)
            post_errors += storm_errors
            storm_end = drain(crowd, platform.head_seq(tid), args.drain_timeout)
        ended_by_server = crowd.progress().ends
        redis_during = platform.redis_connections()
        rss = platform.peak_rss_mib()
        match_of_seq = {seq: json.loads(payload)["match_id"]
                        for seq, kind, payload in platform.events(tid) if kind == "match_result"}
        viewers = crowd.finish()
        ok(platform.api.post(f"/api/v1/tournaments/{tid}/archive"))
        log_problems = platform.log_problems()

    if storm:
        storm.update({k: v for k, v in crowd_figures(viewers, range(final_seq + 1, storm_end + 1), {}).items()
                      if k in ("lost", "duplicates", "disorder")})
    sent_at = {seq: times[match][0] for seq, match in match_of_seq.items() if match in times}
    returned_at = {seq: times[match][1] for seq, match in match_of_seq.items() if match in times}
    crowd_f = crowd_figures(viewers, range(start_seq + 1, final_seq + 1), sent_at)
    bench_cpu = sum(getattr(rusage2, f) - getattr(rusage0, f) for f in ("ru_utime", "ru_stime"))
    return {
        "results_posted": len(times), "results_in_steady_phase": steady, "post_errors": post_errors, "post_seconds": round(post_s, 2),
        "post_call_ms": h.percentiles([(back - sent) * 1000 for sent, back in times.values()]),
        "connect_seconds": connect_s, "viewers_connected": sum(v.connected for v in viewers),
        "connect_accept_queue_overflows": connect_overflows,
        "events_expected_per_viewer": final_seq - start_seq,
        "latency_ms_from_post_returned": h.percentiles(
            crowd_figures(viewers, range(start_seq + 1, final_seq + 1), returned_at)["latency"]),
        "viewer_errors": sorted({v.error for v in viewers if v.error})[:10],
        "viewers_with_error": sum(1 for v in viewers if v.error), "bad_data_frames": sum(v.bad_data for v in viewers),
        "streams_ended_by_server": ended_by_server,
        "redis_connections": redis_during[0],
        "orchestrator_redis_connections": {"before_viewers": redis_before[0], "with_viewers": redis_during[0],
                                           "of_which_in_redis_client_list": redis_during[1]},
        "connect_cpu_seconds": cpu1 - cpu0, "stream_cpu_seconds": cpu2 - cpu1,
        "generator_cpu_seconds": {"connect": round(generator1 - generator0, 2),
                                  "stream": round(generator2 - generator_stream0, 2)},
        "stream_phase_wall_seconds": round(stream_wall, 2), "orchestrator_peak_rss_mib_by_pid": rss,
        "bench_process_cpu_seconds_stream_phase": round(bench_cpu, 2), "platform_log_problems": log_problems,
        "storm": storm, **crowd_f,
    }


def side_by_side(ours, theirs, viewers):
    """Rows of (figure, ours, flask-sse) for the table both runs print."""
    def lat(f, key):
        p = h.percentiles(f["latency"])
        return "-" if p["n"] == 0 else f"{p[key]:.0f}"

    def per_delivery(f):
        return f["stream_cpu_seconds"] * 1000 / max(1, f["deliveries"])
    rows = [("latency p50 ms", *(lat(f, "p50") for f in (ours, theirs))),
            ("latency p99 ms", *(lat(f, "p99") for f in (ours, theirs))),
            ("latency max ms", *(lat(f, "max") for f in (ours, theirs))),
            ("events lost", ours["lost"], theirs["lost"]),
            ("duplicates", ours["duplicates"], theirs["duplicates"]),
            ("deliveries", ours["deliveries"], theirs["deliveries"]),
            ("connect all s", f"{ours['connect_seconds']:.1f}", f"{theirs['connect_seconds']:.1f}"),
            ("connect CPU ms/viewer", *(f"{f['connect_cpu_seconds'] * 1000 / viewers:.2f}" for f in (ours, theirs))),
            ("stream CPU s", *(f"{f['stream_cpu_seconds']:.2f}" for f in (ours, theirs))),
            ("CPU ms/delivery", *(f"{per_delivery(f):.4f}" for f in (ours, theirs))),
            ("Redis connections", ours["redis_connections"], theirs["redis_connections"])]
    ratio = per_delivery(theirs) / per_delivery(ours) if per_delivery(ours) else None
    return rows, ratio


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--viewers", type=int, default=1000, choices=range(1, 20001), metavar="1..20000")
    parser.add_argument("--rate", type=float, default=2.0, help="results per second")
    parser.add_argument("--teams", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1, help="orchestrator gunicorn workers")
    parser.add_argument("--batch", type=int, default=500, help="viewers connected at a time")
    parser.add_argument("--connect-timeout", type=float, default=60.0, help="per batch, seconds")
    parser.add_argument("--drain-timeout", type=float, default=60.0, help="after the last result, seconds")
    parser.add_argument("--baseline", action="store_true", help="also run flask-sse and print both side by side")
    parser.add_argument("--baseline-workers", type=int, default=None, help="flask-sse's workers (default --workers)")
    parser.add_argument("--generator", choices=("c", "python"), default="c",
                        help="the viewers' load generator: bench/sse_load.c, or Python greenlets (bench/sse_viewer.py)")
    parser.add_argument("--storm", action="store_true",
                        help="a third into the results, all viewers drop and resume with Last-Event-ID")
    parser.add_argument("--name", default=None, help="results file name (default sse_fanout_<viewers>)")
    args = h.parse_args(parser, smoke={"viewers": 20, "teams": 4, "rate": 20.0, "batch": 20, "baseline": True,
                                       "storm": True, "connect_timeout": 20.0, "drain_timeout": 20.0,
                                       "name": "sse_fanout_smoke"})
    fd_limit = h.raise_fd_limit()
    # Every viewer is anonymous from 127.0.0.1: the per-address cap (1000 by default) and the total
    # (10000) must let them all in, as an operator expecting such a crowd behind one address would set.
    # In a storm the dropped streams hold their slots until the server next writes to them (an
    # event or a heartbeat), while their viewers are already back: room for both.
    room = 2 * args.viewers if args.storm else args.viewers
    caps = {"SSE_STREAMS_PER_ADDRESS": str(max(1000, room)), "SSE_STREAMS_TOTAL": str(max(10000, room + 100))}
    params = dict(vars(args), fd_limit=fd_limit, orchestrator_env=caps)
    info = h.print_header("SSE fan-out through the orchestrator", params)
    print("load average before (1, 5, 15 min): %.2f %.2f %.2f" % os.getloadavg(), flush=True)

    f = run_ours(args, caps)
    f["load_average_after_ours"] = [round(x, 2) for x in os.getloadavg()]
    f["latency_ms_from_post_sent"] = h.percentiles(f["latency"])
    f["cpu_ms_per_delivery"] = round(f["stream_cpu_seconds"] * 1000 / max(1, f["deliveries"]), 4)
    # The load generator's CPU beside the orchestrator's, phase by phase: how much of the cores the
    # figures' own measuring took.
    generator, storm = f["generator_cpu_seconds"], f["storm"] or {}
    f["cpu_seconds_orchestrator_vs_generator"] = {
        "connect": [round(f["connect_cpu_seconds"], 2), generator["connect"]],
        "stream": [round(f["stream_cpu_seconds"], 2), generator["stream"]],
        **({"storm": [storm["orchestrator_cpu_seconds"], storm["generator_cpu_seconds"]]} if storm else {})}
    f["connect_cpu_ms_per_viewer"] = round(f["connect_cpu_seconds"] * 1000 / args.viewers, 3)
    lost_or_wrong = (f["lost"] or f["duplicates"] or f["disorder"] or f["bad_data_frames"] or f["streams_ended_by_server"]
                     or storm.get("lost") or storm.get("duplicates") or storm.get("viewers_not_caught_up"))
    failed = lost_or_wrong or f["viewers_with_error"] or f["post_errors"]
    for key in ("latency_ms_from_post_sent", "lost", "duplicates", "deliveries", "connect_seconds", "connect_accept_queue_overflows",
                "connect_cpu_ms_per_viewer", "stream_cpu_seconds", "cpu_ms_per_delivery", "generator_cpu_seconds", "cpu_seconds_orchestrator_vs_generator", "results_posted", "post_errors", "post_seconds", "post_call_ms", "viewers_connected",
                "events_expected_per_viewer", "latency_ms_from_post_returned", "viewers_with_error", "viewer_errors",
                "bad_data_frames", "streams_ended_by_server", "disorder", "orchestrator_redis_connections", "stream_phase_wall_seconds",
                "orchestrator_peak_rss_mib_by_pid", "bench_process_cpu_seconds_stream_phase", "platform_log_problems",
                "storm", "load_average_after_ours"):
        value = f[key]
        if isinstance(value, dict) and "p50" in value:
            value = " ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in value.items())
        print(f"{key}: {value}")
    print(f"fanout_spread_ms_first_to_last_viewer: {h.percentiles(f['spread'])}")
    theirs = None
    if args.baseline:
        theirs = sse_baseline.run(args, f["events_expected_per_viewer"], os.path.join(tempfile.gettempdir(), "bench-flask-sse.log"))
        theirs["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        rows, ratio = side_by_side(f, theirs, args.viewers)
        print(f"\n{'figure':<24}{'ours (from POST)':>18}{'flask-sse (from publish)':>26}")
        for name, a, b in rows:
            print(f"{name:<24}{a!s:>18}{b!s:>26}")
        print(f"flask-sse CPU per delivery / ours: {ratio:.2f}x" if ratio else "ratio: n/a")
        print(f"flask-sse viewer errors: {theirs['viewer_errors']}")
    print("load average after (1, 5, 15 min): %.2f %.2f %.2f" % os.getloadavg())
    for figures in filter(None, (f, theirs)):
        figures["latency_ms"] = h.percentiles(figures.pop("latency"))
        figures["spread_ms"] = h.percentiles(figures.pop("spread"))
    h.write_results(args.name or f"sse_fanout_{args.viewers}",
                    {"machine": info, "parameters": params, "figures": f, "flask_sse": theirs})
    return 1 if failed else 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # skip interpreter teardown of thousands of finished greenlets
