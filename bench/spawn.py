"""Spawn latency: from publishing a tournament to the first good answer of its new server.

Starts a fresh platform (bench/harness.py) and, one tournament at a time, --count times: creates a
DRAFT tournament, sends POST /api/v1/tournaments/<id>/publish, and, from a second thread started just
before that request, polls GET /t/<id>/api/state through the gateway every --poll-interval seconds until
it returns 200. Reported, in ms: publish sent -> first 200 (the headline), the publish call's own
latency, and publish returned -> first 200. Also the RSS of one tournament server. At the end every
tournament is cancelled (which stops its server) and the platform is torn down.

    cd /work/main && .venv/bin/python -m bench.spawn --count 20
"""
import argparse
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
    response = api.post(f"/api/v1/tournaments/{tid}/publish")
    returned = time.monotonic()
    poller.join(timeout + 5)
    error = None if response.status_code == 200 else f"publish: {response.status_code} {response.text[:200]}"
    if poller.answered_at is None:
        error = error or f"no 200 from /t/{tid}/api/state within {timeout}s (saw {poller.statuses})"
    return {"tournament_id": tid, "error": error, "polls_before_200": poller.statuses,
            "publish_call_ms": (returned - sent) * 1000,
            "sent_to_first_200_ms": None if error else (poller.answered_at - sent) * 1000,
            "returned_to_first_200_ms": None if error else (poller.answered_at - returned) * 1000}


def server_rss_mib(platform):
    sizes = []
    for p in platform.processes(servers=True):
        try:
            if "tournament" in p.cmdline():
                sizes.append(p.memory_info().rss / 2**20)
        except psutil.NoSuchProcess:
            pass
    return sizes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20, help="tournaments to publish, one after another")
    parser.add_argument("--poll-interval", type=float, default=0.005, help="seconds between state polls")
    parser.add_argument("--timeout", type=float, default=60.0, help="per tournament, seconds")
    parser.add_argument("--name", default="spawn", help="results file name")
    args = h.parse_args(parser, smoke={"count": 2, "name": "spawn_smoke"})
    info = h.print_header("Publish -> first answer of the new tournament server, through the gateway",
                          vars(args))

    runs, cancel_ms = [], []
    with h.Platform("spawn", port_count=args.count + 20) as platform:
        for number in range(1, args.count + 1):
            runs.append(spawn_one(platform, number, args.poll_interval, args.timeout))
            run = runs[-1]
            print(f"  {number:3d} {run['tournament_id']}: publish {run['publish_call_ms']:.0f} ms, "
                  f"first 200 after {run['sent_to_first_200_ms'] or float('nan'):.0f} ms"
                  + (f"  ERROR {run['error']}" if run["error"] else ""), flush=True)
        rss = server_rss_mib(platform)
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
        "published": len(runs), "errors": [r["error"] for r in runs if r["error"]],
        "publish_sent_to_first_200_ms": h.percentiles([r["sent_to_first_200_ms"] for r in good]),
        "publish_call_ms": h.percentiles([r["publish_call_ms"] for r in runs]),
        "publish_returned_to_first_200_ms": h.percentiles([r["returned_to_first_200_ms"] for r in good]),
        "cancel_call_ms": h.percentiles(cancel_ms),
        "tournament_server_rss_mib": h.percentiles(rss),
        "servers_left_after_cancel": left, "platform_log_problems": log_problems,
    }
    for key, value in figures.items():
        if isinstance(value, dict) and "p50" in value:
            value = " ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in value.items())
        print(f"{key}: {value}")
    h.write_results(args.name, {"machine": info, "parameters": vars(args), "figures": figures, "runs": runs})
    return 0 if not figures["errors"] and not left else 1


if __name__ == "__main__":
    sys.exit(main())
