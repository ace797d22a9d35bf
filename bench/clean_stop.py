"""How long a clean stop of the orchestrator takes: SIGTERM to `run.py orchestrator` until it has
exited, with --servers published tournaments (whose servers it stops, being the last orchestrator)
and --viewers SSE streams and an idle keep-alive connection open. Also whether the stop was quiet:
no worker killed, no traceback, exit code 0, and no tournament server left running.

    .venv/bin/python -m bench.clean_stop [--servers 5] [--viewers 20] [--runs 3]
"""
import argparse
import sys
import time
import uuid
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness as h  # noqa: E402
from tests.support.api import ok  # noqa: E402


def one_stop(servers, viewers):
    with h.Platform("clean-stop", port_count=servers + 20) as platform:
        api = h.Api(platform.url).login(f"bench-{uuid.uuid4().hex[:8]}")
        for _ in range(servers):
            tournament = ok(api.post("/api/v1/tournaments", {"name": "Stop Cup", "game": "chess"}), 201)
            ok(api.post(f"/api/v1/tournaments/{tournament['id']}/publish"))
        streams = [requests.get(platform.url + "/api/v1/events/global", stream=True, timeout=30)
                   for _ in range(viewers)]
        refused = [s.status_code for s in streams if s.status_code != 200]
        idle = requests.Session()
        ok(idle.get(platform.url + "/healthz", timeout=10))  # an idle keep-alive connection
        time.sleep(1)
        fleet = [p for p in platform.processes(servers=True) if p.pid != platform.proc.pid
                 and "tournament" in p.cmdline()]
        seconds = platform.proc.stop(timeout=60)
        said = platform.proc.log_of_stop()
        for stream in streams:
            stream.close()
        idle.close()
        _gone, left = psutil.wait_procs(fleet, timeout=5)
        quiet = "SIGKILL" not in said and "Traceback" not in said and '"exception":' not in said
        return {"seconds": seconds, "quiet": quiet, "exit_code": platform.proc.process.returncode,
                "servers_running_before": len(fleet), "servers_left": len(left), "streams_refused": refused}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", type=int, default=5)
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--name", default="clean_stop", help="results file name")
    args = h.parse_args(parser, smoke={"servers": 1, "viewers": 3, "runs": 1, "name": "clean_stop_smoke"})
    info = h.print_header("clean stop: SIGTERM to exit", vars(args))
    runs, errors = [], []
    for number in range(1, args.runs + 1):
        run = one_stop(args.servers, args.viewers)
        runs.append(run)
        print(f"run {number}: {run['seconds']:.2f} s, exit code {run['exit_code']}, "
              f"{'quiet' if run['quiet'] else 'NOT quiet'}, tournament servers {run['servers_running_before']} "
              f"before, {run['servers_left']} left", flush=True)
        if not run["quiet"] or run["exit_code"] != 0 or run["servers_left"] or run["streams_refused"] or \
                run["servers_running_before"] != args.servers:
            errors.append(f"run {number}: {run}")
    figures = {"stop_seconds": h.percentiles([r["seconds"] for r in runs]), "errors": errors}
    print("stop seconds: " + " ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                                      for k, v in figures["stop_seconds"].items()))
    for error in errors:
        print(f"ERROR {error}")
    h.write_results(args.name, {"machine": info, "parameters": vars(args), "figures": figures, "runs": runs})
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
