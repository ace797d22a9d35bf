"""What waking an idle process costs on this machine: the CPU a trivial process spends answering
one message, back to back and after it slept for a while.

An idle fleet's cost is its wakeups (health checks, rounds), so this figure says how to read
bench/fleet.py's idle CPU on a given machine. A forked child echoes one byte over a socketpair;
its scheduler runtime (/proc/PID/schedstat, exact, not tick-sampled) is read around each exchange.
Where a wakeup after a second of sleep costs tens of times a warm one (seen on a nested virtual
machine: 22 us warm, ~1 ms after 1 s), an idle process's every check costs milliseconds however
little it runs.

    .venv/bin/python -m bench.wakeup [--repeat 5] [--gaps 0.01,0.1,1]
"""
import argparse
import os
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness as h  # noqa: E402


def _runtime_ns(pid):
    with open(f"/proc/{pid}/schedstat") as schedstat:
        return int(schedstat.read().split()[0])


def wakeup_costs(gaps, repeat, warm_exchanges=1000):
    """{"warm_us": per exchange back to back, "after_s": {gap: [us per exchange after sleeping
    `gap` seconds, `repeat` times]}} for a forked echo child; Linux only (schedstat)."""
    parent, child = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the echo: nothing but a recv and a send per wakeup
        parent.close()
        while True:
            data = child.recv(16)
            if not data:
                os._exit(0)
            child.send(data)
    child.close()

    def exchange():
        parent.send(b"x")
        parent.recv(16)

    try:
        for _ in range(warm_exchanges):
            exchange()
        began = _runtime_ns(pid)
        for _ in range(warm_exchanges):
            exchange()
        figures = {"warm_us": (_runtime_ns(pid) - began) / warm_exchanges / 1000, "after_s": {}}
        for gap in gaps:
            costs = []
            for _ in range(repeat):
                time.sleep(gap)
                began = _runtime_ns(pid)
                exchange()
                time.sleep(0.002)  # the child's return to sleep is part of its wakeup
                costs.append((_runtime_ns(pid) - began) / 1000)
            figures["after_s"][gap] = costs
        return figures
    finally:
        parent.close()
        os.waitpid(pid, 0)


def summary(figures):
    """One line: warm, and the median after each gap."""
    after = ", ".join(f"after {gap:g} s idle {sorted(costs)[len(costs) // 2]:.0f} us"
                      for gap, costs in figures["after_s"].items())
    return f"a trivial process's wakeup: warm {figures['warm_us']:.0f} us, {after} (median of CPU per wakeup)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="wakeups measured after each gap")
    parser.add_argument("--gaps", default="0.001,0.01,0.1,1", help="comma-separated seconds of sleep before a wakeup")
    parser.add_argument("--name", default="wakeup")
    args = h.parse_args(parser, smoke={"repeat": 2, "gaps": "0.01,0.1"})
    info = h.print_header("What waking an idle process costs here", vars(args))
    figures = wakeup_costs([float(gap) for gap in args.gaps.split(",")], args.repeat)
    print(summary(figures))
    for gap, costs in figures["after_s"].items():
        print(f"  after {gap:g} s: {', '.join(f'{c:.0f}' for c in costs)} us")
    h.write_results(args.name, {"machine": info, "parameters": vars(args),
                                "results": {"warm_us": figures["warm_us"],
                                            "after_s": {str(g): c for g, c in figures["after_s"].items()}}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
