"""Where gunicorn's workers keep their metrics: prometheus-client's multiprocess mode.

Each worker writes its figures to memory-mapped files in PROMETHEUS_MULTIPROC_DIR; a scrape,
whichever worker answers it, adds up every file there (shared/metrics.py). The master makes that
directory before any worker starts (an operator's PROMETHEUS_MULTIPROC_DIR is emptied instead, as
prometheus-client asks: old files would count twice), drops a dead worker's live gauges
(its open streams, its `orchestrator_worker` line) and removes the directory it made on exit. A
dead worker's counters stay: they are what it counted, and a total must not go down.

Nothing here imports prometheus-client before the directory is set: it chooses its mode when
first imported, and the workers are forked from the master.
"""
import glob
import os
import shutil
import sys
import tempfile

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's name for it
_made = None  # the directory this master made, removed on exit


def prepare(environ=os.environ):
    """gunicorn's on_starting: a clean directory for this run's metrics; returns its path.

    :raise RuntimeError: prometheus-client is already imported (it would ignore the directory).
    """
    global _made
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before the metrics directory was set: the workers "
                           "would each count alone (import it lazily; see orchestrator/metrics.py)")
    path = environ.get(MULTIPROC_ENV)
    if path:
        os.makedirs(path, exist_ok=True)
        for leftover in glob.glob(os.path.join(path, "*.db")):
            os.remove(leftover)
    else:
        path = _made = tempfile.mkdtemp(prefix="orchestrator-metrics-")
        environ[MULTIPROC_ENV] = path
    return path


def worker_exited(pid):
    """gunicorn's child_exit: the worker `pid` is gone; its live gauges go with it."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def remove():
    """gunicorn's on_exit: remove the directory this master made (an operator's stays)."""
    if _made:
        shutil.rmtree(_made, ignore_errors=True)
