"""The orchestrator's gunicorn worker: gevent's, made to close its long-lived connections when
told to stop.

gunicorn's gevent worker stops accepting on SIGTERM, then waits until no connection is open, up
to its graceful timeout. Two kinds never close by themselves: SSE streams, and idle keep-alive
connections (they wait `keepalive` seconds for a next request). The master's own graceful
timeout is the same length, so it killed the worker instead ("Perhaps out of memory?"). Here the
app ends its streams and the idle connections are closed as soon as the stop begins.
"""
import contextlib

import gevent
from gunicorn.workers.ggevent import GeventWorker


class OrchestratorWorker(GeventWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._waiting = {}  # connection greenlet -> its keep-alive Timeout, while between requests

    @contextlib.contextmanager
    def timeout_ctx(self):
        """The wait for a connection's next request, which a stop cuts short (once stopping, a
        connection takes only a request it already sent)."""
        timeout = gevent.Timeout(self.cfg.keepalive if self.alive else 0, False)
        connection = gevent.getcurrent()
        self._waiting[connection] = timeout
        try:
            with timeout:
                yield
        finally:
            self._waiting.pop(connection, None)

    def handle_exit(self, sig, frame):
        super().handle_exit(sig, frame)
        # Out of the signal handler: winding down switches greenlets.
        gevent.spawn(self._wind_down)

    def _wind_down(self):
        from orchestrator.shutdown import worker_stopping

        worker_stopping(self.wsgi)
        self.close_idle_connections()

    def close_idle_connections(self):
        """Give every connection waiting for its next request its keep-alive timeout now: it
        closes as if the client had been idle too long, which HTTP clients expect."""
        for connection, timeout in list(self._waiting.items()):
            connection.kill(timeout, block=False)
