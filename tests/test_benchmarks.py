"""Every benchmark in bench/ still runs: each at its smoke size, as a real subprocess (the contract
is in bench/__init__.py). The benches are found by file name, so a new one is covered unasked."""
import ast
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.services import MAINTENANCE_URL, REDIS_URL

BENCH = Path(__file__).resolve().parents[1] / "bench"
SMOKE_TIMEOUT = 180  # seconds for one bench; together they take about a minute on 2 cores


def opt_out_reason(path):
    """The module's NOT_A_BENCHMARK string, or None (read from the source: importing a bench may
    have side effects, such as gevent's monkey-patching)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "NOT_A_BENCHMARK" for t in node.targets):
            return ast.literal_eval(node.value)
    return None


def benchmarks():
    return sorted(path.stem for path in BENCH.glob("*.py")
                  if path.name != "__init__.py" and opt_out_reason(path) is None)


def test_the_benchmarks_are_found_and_helpers_say_why_they_are_not_ones():
    assert {"spawn", "sse_fanout", "gateway", "recovery", "engine", "drop_orders"} <= set(benchmarks())
    for path in BENCH.glob("*.py"):
        reason = opt_out_reason(path)
        assert reason is None or (isinstance(reason, str) and reason.strip()), f"{path.name}: {reason!r}"


@pytest.mark.parametrize("name", benchmarks())
def test_the_benchmark_runs_at_smoke_size(name, tmp_path, redis_namespace):
    env = {**os.environ, "BENCH_RESULTS_DIR": str(tmp_path), "TEST_DATABASE_URL": MAINTENANCE_URL,
           "TEST_REDIS_URL": REDIS_URL, "REDIS_NAMESPACE": redis_namespace}
    process = subprocess.Popen([sys.executable, "-m", f"bench.{name}", "--smoke"], cwd=BENCH.parent, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=SMOKE_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)  # the bench's Platform stops what it started
        output, _ = process.communicate(timeout=60)
        pytest.fail(f"bench.{name} --smoke took over {SMOKE_TIMEOUT}s:\n{output[-3000:]}")

    assert process.returncode == 0, f"bench.{name} --smoke exited {process.returncode}:\n{output[-3000:]}"
    results = list(tmp_path.glob("*.json"))
    assert len(results) == 1, f"bench.{name} wrote {results} (harness.write_results, once):\n{output[-3000:]}"
    assert f"results written to {results[0]}" in output
    assert json.loads(results[0].read_text())
    # Figures: the printed lines past the header (title, machine, parameters) carry numbers.
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("parameters:"))
    assert any(any(ch.isdigit() for ch in line) for line in lines[header + 1:-1]), output[-3000:]
