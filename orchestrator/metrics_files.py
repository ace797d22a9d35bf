"""Where gunicorn's workers keep their metrics: prometheus-client's multiprocess mode.

Each worker writes its figures to memory-mapped files in PROMETHEUS_MULTIPROC_DIR; a scrape,
whichever worker answers it, adds up every file there (shared/metrics.py). The master makes that
directory before any worker starts, under the temporary directory and named with its pid (an
operator's PROMETHEUS_MULTIPROC_DIR is emptied instead, as prometheus-client asks: old files would
count twice), and removes it on exit; the ones of masters killed with -9 go at the next start.
When a worker dies its live gauges go with it (its open streams, its `orchestrator_worker` line);
its counters stay: they are what it counted, and a total must not go down.

Nothing here imports prometheus-client before the directory is set: it chooses its mode when
first imported, and the workers are forked from the master.
"""
import glob
import os
import shutil
import sys
import tempfile

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's name for it
PREFIX = "orchestrator-metrics-"  # then the master's pid: tempdir/orchestrator-metrics-<pid>-<random>
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
        _remove_left_behind()
        path = _made = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-")
        environ[MULTIPROC_ENV] = path
    return path


def _remove_left_behind():
    """Directories of masters that died without their on_exit (kill -9): their pid is gone."""
    for path in glob.glob(os.path.join(tempfile.gettempdir(), f"{PREFIX}*-*")):
        pid = os.path.basename(path)[len(PREFIX):].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def worker_exited(pid):
    """gunicorn's child_exit: the worker `pid` is gone; its live gauges go with it."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def remove():
    """gunicorn's on_exit: remove the directory this master made (an operator's stays)."""
    if _made:
        shutil.rmtree(_made, ignore_errors=True)
