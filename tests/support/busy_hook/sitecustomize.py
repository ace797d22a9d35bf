"""Test-only: put this folder on PYTHONPATH and every tournament server started with it (exec'd,
or forked from a zygote started with it) can be made busy. On SIGUSR1 the server reads
`BUSY_HOOK_DIR/<its pid>` (seconds) and spends them on the CPU without giving gevent a chance to
run anything else, which is what a long CPU-bound command does: no health check is answered, but
the process is visibly working.
"""
import os
import signal
import sys
import time


def _hog(_signum, _frame):
    with open(os.path.join(os.environ["BUSY_HOOK_DIR"], str(os.getpid()))) as told:
        until = time.monotonic() + float(told.read())
    while time.monotonic() < until:
        pass


# A zygote's handler is its children's: servers forked from it run no sitecustomize of their own.
if ("tournament" in sys.argv or "zygote" in sys.argv) and os.environ.get("BUSY_HOOK_DIR"):
    signal.signal(signal.SIGUSR1, _hog)
