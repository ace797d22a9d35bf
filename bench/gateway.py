"""Gateway overhead: sequential request latency straight to a tournament server vs through /t/<id>/.

    .venv/bin/python -m bench.gateway [--requests 300]

Prints p50/p99/max per route on a keep-alive connection, as a browser or API client would use it.
"""
import argparse
import sys
import time

import requests

from bench import harness as h
from tests.support.api import ok


def timed(session, url, count):
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        response = session.get(url, timeout=10)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
    return h.percentiles(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="sequential requests per route")
    parser.add_argument("--name", default="gateway", help="results file name")
    args = h.parse_args(parser, smoke={"requests": 20, "name": "gateway_smoke"})
    info = h.print_header("Gateway overhead (sequential GETs, keep-alive)", vars(args))
    with h.Platform("gateway") as platform:
        tournament = ok(platform.api.post("/api/v1/tournaments", {"name": "Gateway", "game": "go"}), 201)
        ok(platform.api.post(f"/api/v1/tournaments/{tournament['id']}/publish"))
        with platform.engine.connect() as conn:
            endpoint = conn.exec_driver_sql("SELECT endpoint FROM tournaments WHERE id = %(t)s",
                                            {"t": tournament["id"]}).scalar()
        routes = {
            "orchestrator /healthz": f"{platform.url}/healthz",
            "server direct /api/state": f"http://{endpoint}/api/state",
            "gateway /t/<id>/api/state": f"{platform.url}/t/{tournament['id']}/api/state",
        }
        figures = {}
        for label, url in routes.items():
            with requests.Session() as session:
                session.get(url, timeout=10)  # warm the connection
                figures[label] = timed(session, url, args.requests)
    for label, stats in figures.items():
        print(f"{label:28s} p50 {stats['p50']:6.2f} ms  p99 {stats['p99']:6.2f} ms  max {stats['max']:6.2f} ms")
    h.write_results(args.name, {"machine": info, "parameters": vars(args), "figures": figures})
    return 0


if __name__ == "__main__":
    sys.exit(main())
