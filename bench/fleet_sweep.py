"""What the supervisor's orphan sweep costs: one pass over the process table with N tournament
servers running (stand-ins with a server's command line: the pass reads command lines only, so a
sleeping stand-in costs it what a real server does).

    .venv/bin/python bench/fleet_sweep.py [--servers 50] [--passes 50]
"""
import argparse
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import percentiles, print_header  # noqa: E402
from orchestrator.spawner import tournament_servers_running  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--passes", type=int, default=50)
    args = parser.parse_args()
    print_header("orphan sweep: one pass over the process table", vars(args))
    stand_ins = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "run.py", "tournament",
                                   "--id", f"t_bench{n:05d}"]) for n in range(args.servers)]
    try:
        time.sleep(1)
        timings = []
        for _ in range(args.passes):
            began = time.perf_counter()
            found = tournament_servers_running()
            timings.append((time.perf_counter() - began) * 1000)
        assert sum(1 for tid in found if tid.startswith("t_bench")) == args.servers
        figures = percentiles(timings)
        print(f"processes on the machine: {len(psutil.pids())}, tournament servers: {args.servers}")
        print(f"one pass: p50 {figures['p50']:.1f} ms, p99 {figures['p99']:.1f} ms, max {figures['max']:.1f} ms")
    finally:
        for stand_in in stand_ins:
            stand_in.kill()
            stand_in.wait()


if __name__ == "__main__":
    main()
