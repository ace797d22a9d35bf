"""What the supervisor's orphan sweep costs: one pass over the process table with N tournament
servers running (stand-ins with a server's command line: the pass reads command lines only, so a
sleeping stand-in costs it what a real server does).

    .venv/bin/python -m bench.fleet_sweep [--servers 50] [--passes 50]
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

from bench.harness import parse_args, percentiles, print_header, write_results  # noqa: E402
from orchestrator.spawners.subprocess import tournament_servers_running  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--passes", type=int, default=50)
    parser.add_argument("--name", default="fleet_sweep", help="results file name")
    args = parse_args(parser, smoke={"servers": 5, "passes": 5, "name": "fleet_sweep_smoke"})
    info = print_header("orphan sweep: one pass over the process table", vars(args))
    stand_ins = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "run.py", "tournament",
                                   "--id", f"t_bench{n:05d}"]) for n in range(args.servers)]
    try:
        time.sleep(1)
        timings, found = [], []
        for _ in range(args.passes):
            began = time.perf_counter()
            found = tournament_servers_running()
            timings.append((time.perf_counter() - began) * 1000)
        seen = sum(1 for tid in found if tid.startswith("t_bench"))
        figures = {"one_pass_ms": percentiles(timings), "processes_on_the_machine": len(psutil.pids()),
                   "stand_ins_found": seen}
        print(f"processes on the machine: {figures['processes_on_the_machine']}, tournament servers: {args.servers}"
              f" (the sweep found {seen})")
        stats = figures["one_pass_ms"]
        print(f"one pass: p50 {stats['p50']:.1f} ms, p99 {stats['p99']:.1f} ms, max {stats['max']:.1f} ms")
    finally:
        for stand_in in stand_ins:
            stand_in.kill()
            stand_in.wait()
    write_results(args.name, {"machine": info, "parameters": vars(args), "figures": figures})
    if seen != args.servers:
        print(f"ERROR: the sweep found {seen} of the {args.servers} stand-ins")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
