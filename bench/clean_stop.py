"""How long a clean stop of the orchestrator takes: SIGTERM to `run.py orchestrator` until it has
exited, with --servers published tournaments (whose servers it stops, being the last orchestrator)
and --viewers SSE streams and an idle keep-alive connection open. Also whether the stop was quiet:
no worker killed, no traceback.

    .venv/bin/python -m bench.clean_stop [--servers 5] [--viewers 20] [--runs 3]
"""
import argparse
import sys
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness as h  # noqa: E402


def one_stop(servers, viewers):
    with h.Platform("clean-stop") as platform:
        api = h.Api(platform.url).login(f"bench-{uuid.uuid4().hex[:8]}")
        for _ in range(servers):
            tournament = h.ok(api.post("/api/v1/tournaments", {"name": "Stop Cup", "game": "chess"}), 201)
            h.ok(api.post(f"/api/v1/tournaments/{tournament['id']}/publish"))
        streams = [requests.get(platform.url + "/api/v1/events/global", stream=True, timeout=30)
                   for _ in range(viewers)]
        time.sleep(1)
        seconds = platform.proc.stop(timeout=60)
        said = platform.proc.log_of_stop()
        for stream in streams:
            stream.close()
        quiet = "SIGKILL" not in said and "Traceback" not in said
        return seconds, quiet, platform.proc.process.returncode


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, default=5)
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    h.print_header("clean stop: SIGTERM to exit", vars(args))
    for run in range(args.runs):
        seconds, quiet, code = one_stop(args.servers, args.viewers)
        print(f"run {run + 1}: {seconds:.2f} s, exit code {code}, {'quiet' if quiet else 'NOT quiet'}", flush=True)


if __name__ == "__main__":
    main()
