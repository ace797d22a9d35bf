"""Spawn latency: from publishing a tournament to the first good answer of its new server.

Starts a fresh platform (bench/harness.py) and, one tournament at a time, --count times: creates a
DRAFT tournament, sends POST /api/v1/tournaments/<id>/publish, and, from a second thread started just
before that request, polls GET /t/<id>/api/state through the gateway every --poll-interval seconds until
it returns 200. Reported, in ms: publish sent -> first 200 (the headline), the publish call's own
latency, and publish returned -> first 200. Also each server's memory (USS: what it alone holds,
what the machine saves nothing on; RSS, which counts pages shared with its zygote and siblings;
PSS, its share of those),
and, with --idle-seconds, the CPU the idle servers (and the zygote) and the orchestrator use
meanwhile. At the end every tournament is cancelled (which stops its server) and the platform is
torn down.

--preload 1,0 runs it twice, on a fresh platform each: servers forked from the zygote
(SPAWNER_PRELOAD=1, the default), then each started by exec (SPAWNER_PRELOAD=0), and prints
both side by side. The load average is printed with the figures: the machine may be shared.

    cd /work/main && .venv/bin/python -m bench.spawn --count 20 --preload 1,0 --idle-seconds 20

--health-check-interval sets the supervisor's HEALTH_CHECK_INTERVAL: the idle orchestrator's CPU is
almost all its checks of the servers.
"""
import argparse
import os
import sys
import threading
import time
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness as h  # noqa: E402
from tests.support.api import ok  # noqa: E402


class Poller(threading.Thread):
    """Polls `url` until it answers 200 or `timeout` passes; `answered_at` is the monotonic time of the 200."""

    def __init__(self, url, interval, timeout):
        super().__init__(daemon=True)
        self.url, self.interval, self.timeout = url, interval, timeout
        self.answered_at, self.statuses = None, {}
        self.session = requests.Session()

    def run(self):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                status = self.session.get(self.url, timeout=5).status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            if status == 200:
                self.answered_at = time.monotonic()
                return
            self.statuses[status] = self.statuses.get(status, 0) + 1
            time.sleep(self.interval)


def spawn_one(platform, number, interval, timeout):
    api = platform.api
    tid = ok(api.post("/api/v1/tournaments", {"name": f"Spawn Cup {number}", "game": "chess"}), 201)["id"]
    poller = Poller(f"{platform.url}/t/{tid}/api/state", interval, timeout)
    poller.session.get(f"{platform.url}/healthz")  # a warm connection, as a browser would have
    poller.start()
    sent = time.monotonic()
    try:
        # The whole --timeout: a container engine's start may take longer than the client's usual 30 s.
        response = api.session.post(api.url(f"/api/v1/tournaments/{tid}/publish"), timeout=timeout)
        error = None if response.status_code == 200 else f"publish: {response.status_code} {response.text[:200]}"
    except requests.RequestException as exc:
        error = f"publish: no answer within {timeout}s ({type(exc).__name__})"
    returned = time.monotonic()
    poller.join(timeout + 5)
    if poller.answered_at is None:
        error = error or f"no 200 from /t/{tid}/api/state within {timeout}s (saw {poller.statuses})"
    return {"tournament_id": tid, "error": error, "polls_before_200": poller.statuses,
            "publish_call_ms": (returned - sent) * 1000,
            "sent_to_first_200_ms": None if error else (poller.answered_at - sent) * 1000,
            "returned_to_first_200_ms": None if error else (poller.answered_at - returned) * 1000}


def server_memory_mib(platform):
    """[(USS, RSS, PSS)] in MiB of each tournament server of the platform (USS and PSS read smaps:
    slow-ish). PSS counts each shared page divided among the processes that map it: their sum is
    what the fleet and its zygote take from the machine."""
    sizes = []
    for p in platform.processes(servers=True):
        try:
            if "tournament" in p.cmdline():
                memory = p.memory_full_info()
                sizes.append((memory.uss / 2**20, memory.rss / 2**20, memory.pss / 2**20))
        except psutil.NoSuchProcess:
            pass
    return sizes


def idle_cpu(platform, seconds):
    """Share of one core used over `seconds` by the idle servers (zygote included) and by the
    orchestrator's processes: {"servers": %, "orchestrator": %, "servers_counted": n}."""
    def cpu(processes):
        total = {}
        for p in processes:
            try:
                times = p.cpu_times()
                total[p.pid] = times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total
    orchestrator = platform.processes()
    servers = [p for p in platform.processes(servers=True) if p not in orchestrator]
    before_s, before_o = cpu(servers), cpu(orchestrator)
    time.sleep(seconds)
    after_s, after_o = cpu(servers), cpu(orchestrator)
    used_s = sum(after_s[pid] - before_s[pid] for pid in after_s if pid in before_s)
    used_o = sum(after_o[pid] - before_o[pid] for pid in after_o if pid in before_o)
    return {"servers_pct_of_core": round(100 * used_s / seconds, 2), "servers_counted": len(after_s),
            "orchestrator_pct_of_core": round(100 * used_o / seconds, 2)}


def run_platform(args, preload):
    """One platform, SPAWNER_PRELOAD=`preload`: publish --count tournaments one by one, measure,
    cancel them all. Returns (figures, runs)."""
    runs, cancel_ms, idle = [], [], None
    env = {"SPAWNER_PRELOAD": str(preload)}
    if args.health_check_interval is not None:
        env["HEALTH_CHECK_INTERVAL"] = str(args.health_check_interval)
    with h.Platform("spawn", port_count=args.count + 20, env=env) as platform:
        if preload:
            time.sleep(args.warm_seconds)  # the first supervisor round launches the zygote
        for number in range(1, args.count + 1):
            runs.append(spawn_one(platform, number, args.poll_interval, args.timeout))
            run = runs[-1]
            print(f"  {number:3d} {run['tournament_id']}: publish {run['publish_call_ms']:.0f} ms, "
                  f"first 200 after {run['sent_to_first_200_ms'] or float('nan'):.0f} ms"
                  + (f"  ERROR {run['error']}" if run["error"] else ""), flush=True)
        memory = server_memory_mib(platform)
        if args.idle_seconds:
            idle = {**idle_cpu(platform, args.idle_seconds), "load_average": os.getloadavg()}
            print(f"  idle {args.idle_seconds:.0f}s: {idle}", flush=True)
        for run in runs:
            started = time.monotonic()
            response = platform.api.post(f"/api/v1/tournaments/{run['tournament_id']}/cancel")
            cancel_ms.append((time.monotonic() - started) * 1000)
            if response.status_code != 200:
                run["error"] = run["error"] or f"cancel: {response.status_code} {response.text[:200]}"
        left = len([p for p in platform.processes(servers=True) if "tournament" in p.cmdline()])
        log_problems = platform.log_problems()

    good = [r for r in runs if not r["error"]]
    figures = {
        "spawner_preload": preload, "published": len(runs), "errors": [r["error"] for r in runs if r["error"]],
        "publish_sent_to_first_200_ms": h.percentiles([r["sent_to_first_200_ms"] for r in good]),
        "publish_call_ms": h.percentiles([r["publish_call_ms"] for r in runs]),
        "publish_returned_to_first_200_ms": h.percentiles([r["returned_to_first_200_ms"] for r in good]),
        "cancel_call_ms": h.percentiles(cancel_ms),
        "tournament_server_uss_mib": h.percentiles([uss for uss, _rss, _pss in memory]),
        "tournament_server_rss_mib": h.percentiles([rss for _uss, rss, _pss in memory]),
        "tournament_server_pss_mib": h.percentiles([pss for _uss, _rss, pss in memory]),
        "idle": idle, "load_average_after": os.getloadavg(),
        "servers_left_after_cancel": left, "platform_log_problems": log_problems,
    }
    return figures, runs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20, help="tournaments to publish, one after another")
    parser.add_argument("--poll-interval", type=float, default=0.005, help="seconds between state polls")
    parser.add_argument("--timeout", type=float, default=60.0, help="per tournament, seconds")
    parser.add_argument("--preload", default="1,0",
                        help="SPAWNER_PRELOAD values to run, in order (1: fork from the zygote, 0: exec)")
    parser.add_argument("--warm-seconds", type=float, default=3.0,
                        help="with preload, wait this long after the orchestrator answers (zygote warm-up)")
    parser.add_argument("--idle-seconds", type=float, default=0.0,
                        help="measure the idle servers' and orchestrator's CPU over this many seconds")
    parser.add_argument("--health-check-interval", type=float, default=None,
                        help="the supervisor's HEALTH_CHECK_INTERVAL (default: the orchestrator's own)")
    parser.add_argument("--name", default="spawn", help="results file name")
    args = h.parse_args(parser, smoke={"count": 2, "preload": "1", "warm_seconds": 1.0, "idle_seconds": 1.0,
                                       "name": "spawn_smoke"})
    info = h.print_header("Publish -> first answer of the new tournament server, through the gateway",
                          vars(args))
    print(f"load average before: {os.getloadavg()}", flush=True)
    results = {}
    for preload in [int(value) for value in args.preload.split(",")]:
        print(f"-- SPAWNER_PRELOAD={preload}", flush=True)
        results[preload] = run_platform(args, preload)
    for preload, (figures, _runs) in results.items():
        print(f"== SPAWNER_PRELOAD={preload}")
        for key, value in figures.items():
            if isinstance(value, dict) and "p50" in value:
                value = " ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in value.items())
            print(f"{key}: {value}")
    h.write_results(args.name, {"machine": info, "parameters": vars(args),
                                "figures": {f"preload_{p}": f for p, (f, _r) in results.items()},
                                "runs": {f"preload_{p}": r for p, (_f, r) in results.items()}})
    failed = any(f["errors"] or f["servers_left_after_cancel"] for f, _r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
