"""The tournament page's live fragments under a herd: after one event every viewer refetches the
bracket, standings and head (one request, as the page asks).

1. In this process, through Flask's test client (no gateway, no database: the aggregate is driven
   purely, as bench.tournament_page does), per format: the first request renders them
   (`pages.page_context` + the partial), the others are served from `pages.FragmentCache`.
2. Through a real orchestrator (bench/harness.Platform) and its spawned server, a single
   elimination of --gateway-teams teams half through its first round: after each of --events
   results, --viewers anonymous viewers (--concurrency at a time) GET
   `/t/<id>/fragments/bracket?also=standings,head`, once with the orchestrator's fragment cache
   off (FRAGMENT_CACHE_BYTES=0: every request takes the gateway hop) and once on
   (orchestrator/fragment_cache.py). Printed: the orchestrator's CPU per fragment request (gunicorn
   master and worker), the tournament server's, the latency p50/p99, the answers from memory.

Run: .venv/bin/python -m bench.fragments [--teams 256] [--viewers 1000] [--gateway-teams 64]
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import gevent.pool  # noqa: E402
import requests  # noqa: E402
from flask import Flask  # noqa: E402

from bench import harness  # noqa: E402
from bench.harness import parse_args, percentiles, print_header, write_results  # noqa: E402
from bench.tournament_page import FORMATS, half_played  # noqa: E402
from tests.support.api import make_tournament, ok  # noqa: E402
from tournament_service import pages  # noqa: E402

PARTS = "fragments/bracket?also=standings,head"


def app_for(tournament):
    """A Flask app serving the page blueprint for `tournament` (as the server's, minus the rest)."""
    app = Flask("tournament_service")
    app.register_blueprint(pages.bp)
    app.extensions["tournament_server"] = SimpleNamespace(tournament=tournament)
    return app


def herd(app, viewers):
    """(first request s, [later requests s], bytes): `viewers` GETs of the page's parts after a change."""
    client = app.test_client()
    app.extensions.pop("fragment_cache", None)  # as after an event: nothing rendered for this seq
    times = []
    for _ in range(viewers):
        start = time.perf_counter()
        response = client.get("/fragments/bracket?also=standings,head")
        times.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise SystemExit(f"fragment answered {response.status_code}")
    return times[0], times[1:], len(response.data)


def gateway_herd(cache_bytes, args):
    """{figures} of --viewers fragment requests after each of --events results, through a real
    orchestrator whose fragment cache holds `cache_bytes` (0: off)."""
    with harness.Platform("fragments", env={"FRAGMENT_CACHE_BYTES": str(cache_bytes)}) as platform:
        api = platform.api
        tid = make_tournament(api, "ACTIVE", teams=args.gateway_teams)["id"]
        pending = ok(api.get(f"/t/{tid}/api/matches", params={"status": "pending"}))["items"]
        for match in pending[:len(pending) // 2 - args.events]:
            ok(api.post(f"/t/{tid}/api/matches/{match['id']}/result", {"winner": match["team1_id"]}))
        viewers = requests.Session()
        viewers.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=args.concurrency))
        server = platform.server_processes()
        times, outcomes, failures, orchestrator_cpu, server_cpu, size = [], [], 0, 0.0, 0.0, 0

        def view(_):
            start = time.perf_counter()
            response = viewers.get(f"{platform.url}/t/{tid}/{PARTS}", timeout=60)
            times.append(time.perf_counter() - start)
            outcomes.append(response.headers.get("X-Cache", "none"))
            return response.status_code, len(response.content)

        for match in pending[len(pending) // 2 - args.events:len(pending) // 2]:
            ok(api.post(f"/t/{tid}/api/matches/{match['id']}/result", {"winner": match["team1_id"]}))
            time.sleep(0.5)  # the relay has heard of it, as a page hears of it before refetching
            before = platform.cpu_seconds(), harness.cpu_seconds_of(server)
            answers = gevent.pool.Pool(args.concurrency).map(view, range(args.viewers))
            orchestrator_cpu += platform.cpu_seconds() - before[0]
            server_cpu += harness.cpu_seconds_of(server) - before[1]
            failures += sum(status != 200 for status, _ in answers)
            size = answers[-1][1]
        requests_made = args.viewers * args.events
        p = percentiles(times)
        return {"fragment_cache_bytes": cache_bytes, "requests": requests_made, "failed": failures,
                "from_memory": outcomes.count("HIT"), "kib": round(size / 1024, 1),
                "orchestrator_cpu_ms_per_request": round(orchestrator_cpu * 1000 / requests_made, 3),
                "server_cpu_ms_per_request": round(server_cpu * 1000 / requests_made, 3),
                "orchestrator_cpu_s_per_event": round(orchestrator_cpu / args.events, 3),
                "latency_ms_p50": round(p["p50"] * 1000, 1), "latency_ms_p99": round(p["p99"] * 1000, 1),
                "load_average": [round(x, 2) for x in os.getloadavg()]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=256)
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--gateway-teams", type=int, default=64, help="through the orchestrator (part 2)")
    parser.add_argument("--events", type=int, default=3, help="results, each followed by the herd (part 2)")
    parser.add_argument("--concurrency", type=int, default=100, help="viewers asking at once (part 2)")
    parser.add_argument("--name", default="fragments")
    args = parse_args(parser, smoke={"teams": 16, "viewers": 20, "gateway_teams": 8, "events": 1, "concurrency": 10,
                                     "name": "fragments_smoke"})
    print_header("live fragments", vars(args))
    rnd = random.Random(args.seed)
    figures = {}
    for format_name, options in FORMATS.items():
        teams = min(args.teams, 64) if format_name == "round_robin" else args.teams
        first, later, size = herd(app_for(half_played(format_name, teams, options, rnd)), args.viewers)
        p = percentiles(later)
        figures[format_name] = {"teams": teams, "first_ms": first * 1000, "cached_p50_ms": p["p50"] * 1000,
                                "cached_p99_ms": p["p99"] * 1000, "all_viewers_s": first + sum(later),
                                "fragment_kib": size / 1024}
        print(f"{format_name}, {teams} teams: first {first * 1000:.1f} ms, then p50 {p['p50'] * 1000:.2f} ms "
              f"p99 {p['p99'] * 1000:.2f} ms; {args.viewers} viewers {first + sum(later):.2f} s; "
              f"{size / 1024:.0f} KiB")
    for label, cache_bytes in (("cache off", 0), ("cache on", 32 * 2**20)):
        figures[f"through_orchestrator_{label.replace(' ', '_')}"] = f = gateway_herd(cache_bytes, args)
        print(f"through the orchestrator, {label}, {args.gateway_teams} teams, {args.viewers} viewers x "
              f"{args.events} events: orchestrator CPU {f['orchestrator_cpu_ms_per_request']:.2f} ms/request "
              f"({f['orchestrator_cpu_s_per_event']:.2f} s/event), server CPU {f['server_cpu_ms_per_request']:.2f} "
              f"ms/request, latency p50 {f['latency_ms_p50']} ms p99 {f['latency_ms_p99']} ms, "
              f"{f['from_memory']}/{f['requests']} from memory, {f['failed']} failed, {f['kib']} KiB; "
              f"load {f['load_average']}", flush=True)
    write_results(args.name, figures)
    return 1 if any(f.get("failed") for f in figures.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
