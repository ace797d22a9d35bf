"""Gunicorn settings for the orchestrator, used in production and by `python run.py orchestrator`.

    gunicorn -c python:orchestrator.gunicorn_conf 'orchestrator:create_app()'
"""
import logging
import os

from gunicorn.glogging import Logger

from shared import logs

bind = os.environ.get("BIND", "0.0.0.0:5000")
# gevent: an SSE viewer is a parked greenlet, not a blocked worker. Ours ends its streams and
# idle connections when told to stop (orchestrator/worker.py).
worker_class = "orchestrator.worker.OrchestratorWorker"
# One worker by default: the embedded Redis of a local run is per process. The fleet does not
# belong to a worker (a leased supervisor runs it), so more workers need only an external Redis.
workers = int(os.environ.get("WEB_CONCURRENCY", 1))
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", 20000))
# SSE streams never end by themselves: don't let a graceful restart wait on them for long.
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", 5))
timeout = 30
keepalive = 5
# Connections the kernel holds for the worker to accept. When every viewer of a big event comes back
# at once (a proxy or orchestrator restart), connects past the queue are dropped and the browsers'
# kernels resend them 1, 3, 7 s later: a deep queue turns that wait into work. The kernel caps it
# at net.core.somaxconn (4096 on current Linux; raise it for storms of more viewers than that).
backlog = int(os.environ.get("BACKLOG", 16384))
# The app logs one access line per request itself, with its request id (shared/logs.py).
accesslog = os.environ.get("ACCESS_LOG") or None
errorlog = "-"


class PlatformLogger(Logger):
    """gunicorn's own lines (the master's and the workers') in the platform's format: the master
    has no app factory, so it reads LOG_FORMAT and LOG_LEVEL here, as the factory does."""

    def setup(self, cfg):
        super().setup(cfg)
        settings = logs.settings_from_env(os.environ)
        logs.configure(settings["LOG_FORMAT"], settings["LOG_LEVEL"])
        for log in (self.error_log, self.access_log):
            log.handlers.clear()
            log.propagate = True  # to the root's handler, which renders every line alike
        self.error_log.setLevel(logging.NOTSET)  # LOG_LEVEL decides, at the root


logger_class = PlatformLogger


def on_starting(server):
    """A setting every worker would refuse (a weak secret) stops the master at once, saying why."""
    from orchestrator import check_settings, metrics_files

    check_settings()
    # Before any worker is forked: each of them writes its metrics there (multiprocess mode).
    metrics_files.prepare()


def on_exit(server):
    """A clean stop of the master stops the fleet too (FLEET_STOP_ON_EXIT=0 keeps it serving)."""
    from orchestrator import metrics_files
    from orchestrator.shutdown import on_master_exit

    try:
        on_master_exit()
    finally:
        metrics_files.remove()


def child_exit(server, worker):
    """A worker is gone (stopped, crashed or killed): its open streams no longer count."""
    from orchestrator import metrics_files

    metrics_files.worker_exited(worker.pid)


def post_worker_init(worker):
    """The supervisor in this worker stops the moment the worker is told to stop."""
    from orchestrator.supervisor import bind_to_worker

    bind_to_worker(worker)


def post_fork(server, worker):
    """psycopg2 waits for PostgreSQL through gevent's hub: a slow query no longer stalls the
    worker's other greenlets (SSE viewers' replays, health checks)."""
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()
