"""The orchestrator's gunicorn worker: gevent's, made to close its long-lived connections when
told to stop.

gunicorn's gevent worker stops accepting on SIGTERM, then waits until no connection is open, up
to its graceful timeout. Two kinds never close by themselves: SSE streams, and idle keep-alive
connections (they wait `keepalive` seconds for a next request). The master's own graceful
timeout is the same length, so it killed the worker instead ("Perhaps out of memory?"). Here the
app ends its streams and the idle connections are closed as soon as the stop begins.

A new connection is not idle: gunicorn goes on accepting for up to a second after the stop begins,
and a client (or a load balancer) that connected then is owed an answer; it gets FIRST_REQUEST_GRACE
seconds to send its request. Cutting it at once made requests through a load balancer fail during
a rolling restart, when any other replica could have answered them.

For the same reason the listening socket is emptied before it is closed: the kernel resets every
connection still in its accept queue when the last copy of the socket closes (the master closes
its copy first), so each is accepted and answered instead.
"""
import contextlib
import weakref

import gevent
from gevent.server import StreamServer
from gunicorn.workers import ggevent
from gunicorn.workers.ggevent import GeventWorker

FIRST_REQUEST_GRACE = 1.0


class DrainingStreamServer(StreamServer):
    """gevent's server, which accepts what the kernel has already queued before it closes."""

    def close(self):
        if not self.closed:
            self.take_queued()
        super().close()

    def take_queued(self):
        """Accept and hand on every connection waiting in the accept queue now. Nothing switches
        greenlets between the last accept and the close that follows (unless the pool is full,
        when spawning waits for a free slot and the queue is read again)."""
        while True:
            try:
                accepted = self.do_read()  # None once the queue is empty (the socket never blocks)
            except OSError:
                return
            if accepted is None:
                return
            self.do_handle(*accepted)


class ListenerName:
    """A listening socket's address, which is all gunicorn's handler asks of it: a connection
    taken from the queue just before the close starts after the socket is gone."""

    def __init__(self, listener):
        self._name = listener.getsockname()

    def getsockname(self):
        return self._name


class OrchestratorWorker(GeventWorker):
    def run(self):
        self._listener_names = {listener: ListenerName(listener) for listener in self.sockets}
        # gunicorn's run() makes its servers from the module's StreamServer name (a gevent worker
        # with no server_class), so it is pointed at ours in this worker process.
        ggevent.StreamServer = DrainingStreamServer
        super().run()

    def handle(self, listener, client, addr):
        super().handle(self._listener_names[listener], client, addr)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # connection greenlet -> (its Timeout, whether it awaits its first request), while between requests
        self._waiting = {}
        self._answered = weakref.WeakSet()  # connection greenlets past their first request

    @contextlib.contextmanager
    def timeout_ctx(self):
        """The wait for a connection's next request, which a stop cuts short (once stopping, a
        connection takes only a request it already sent, or its first within the grace)."""
        connection = gevent.getcurrent()
        first = connection not in self._answered
        self._answered.add(connection)
        stopping_wait = FIRST_REQUEST_GRACE if first else 0
        timeout = gevent.Timeout(self.cfg.keepalive if self.alive else stopping_wait, False)
        self._waiting[connection] = (timeout, first)
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
        closes as if the client had been idle too long, which HTTP clients expect. One still
        waiting for its first request gets it after FIRST_REQUEST_GRACE."""
        for connection, (timeout, first) in list(self._waiting.items()):
            if first:
                gevent.spawn_later(FIRST_REQUEST_GRACE, self._cut_if_still_waiting, connection, timeout)
            else:
                connection.kill(timeout, block=False)

    def _cut_if_still_waiting(self, connection, timeout):
        # Only the same wait: past it, the greenlet is serving a request, which must not be cut.
        if self._waiting.get(connection, (None,))[0] is timeout:
            connection.kill(timeout, block=False)
