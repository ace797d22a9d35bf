"""Serving one tournament server with gevent's WSGI server (run.py patches gevent before this)."""
import logging
import os
import signal
import socket
import sys

import gevent
from gevent.pywsgi import WSGIServer


class _NoDelayWSGIServer(WSGIServer):
    def handle(self, sock, address):
        # pywsgi writes headers and body separately; with Nagle on, a keep-alive answer waits for
        # the peer's delayed ACK (~40 ms per request through the gateway).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(sock, address)


def _log_crashes():
    """A crash lands in the server's log (LOG_FILE, set up by create_app), not on a stderr nobody reads."""
    sys.excepthook = lambda *exc_info: logging.getLogger().critical("tournament server crashed", exc_info=exc_info)


def serve(tournament_id, host, port, listen_fd=None, base_app=None):
    """Serve the tournament on host:port, or on the listening socket `listen_fd` the spawner bound
    for us (so no other socket can take the port between its choice and our start). `base_app`:
    the app the zygote built before forking us (create_app's `base`), else one is built here."""
    os.environ["TOURNAMENT_ID"] = tournament_id
    # Inherited from a gunicorn worker that spawned us: that directory is the orchestrator's, and
    # one process needs no multiprocess mode (prometheus-client reads this when first imported).
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # psycopg2 waits for PostgreSQL through gevent's hub from here on: while a command's commit
    # is in flight, health checks and reads are answered.
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()
    _log_crashes()
    from tournament_service import create_app

    app = create_app(base=base_app)
    listener = (host, port) if listen_fd is None else socket.socket(fileno=listen_fd)
    http = _NoDelayWSGIServer(listener, app, log=None)

    def stop(*_):
        # Finish in-flight requests, then let the publisher drain before exiting.
        http.stop(timeout=5)
        app.extensions["tournament_server"].publisher.close()

    gevent.signal_handler(signal.SIGTERM, stop)
    gevent.signal_handler(signal.SIGINT, stop)
    http.serve_forever()
