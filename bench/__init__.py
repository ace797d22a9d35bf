"""Benchmarks: scripts that measure and print figures (speed is measured here, never in timed tests).

The contract every `bench/*.py` follows, because tests/test_benchmarks.py runs each one in CI at a
smoke size (it finds them by file name, so a new bench is covered without editing the test):

- It runs as `.venv/bin/python -m bench.NAME` and parses its options with
  `harness.parse_args(parser, smoke={...})`, which adds `--smoke`: the smoke values become the
  defaults, tiny sizes that finish in seconds (the smoke runs of all benches together stay under
  two minutes on 2 cores).
- It prints its figures and saves them with `harness.write_results(name, data)` (which prints
  "results written to ..."; BENCH_RESULTS_DIR overrides bench/results/, the tests use a temp dir).
- It exits 0 when the run went right and non-zero when it saw an error (a failed request, a lost
  event, a wrong state), so a broken platform fails the smoke run too.
- A platform bench uses `harness.Platform`: its own database, Redis namespace and orchestrator,
  logged in as an organizer with a Bearer token like a real client, all torn down at the end.

A module in bench/ that is not a benchmark (a helper) says why in a module-level string
`NOT_A_BENCHMARK = "..."`; that is the only way out of the smoke run.
"""
