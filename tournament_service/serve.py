"""Serving one tournament server with gevent's WSGI server (run.py patches gevent before this)."""
import os
import signal
import socket

import gevent
from gevent.pywsgi import WSGIServer


class _NoDelayWSGIServer(WSGIServer):
    def handle(self, sock, address):
        # pywsgi writes headers and body separately; with Nagle on, a keep-alive answer waits for
        # the peer's delayed ACK (~40 ms per request through the gateway).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(sock, address)


def serve(tournament_id, host, port):
    os.environ["TOURNAMENT_ID"] = tournament_id
    from tournament_service import create_app

    app = create_app()
    http = _NoDelayWSGIServer((host, port), app, log=None)

    def stop(*_):
        # Finish in-flight requests, then let the publisher drain before exiting.
        http.stop(timeout=5)
        app.extensions["tournament_server"].publisher.close()

    gevent.signal_handler(signal.SIGTERM, stop)
    gevent.signal_handler(signal.SIGINT, stop)
    http.serve_forever()
