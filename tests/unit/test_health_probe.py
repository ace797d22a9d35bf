"""The supervisor's health probe (orchestrator/spawners/health_probe.py) against real HTTP servers
on loopback: kept-alive connections, a server replaced on its port, a server that hangs."""
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from orchestrator.spawners.health_probe import HealthProbe


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps the connection open between requests

    def setup(self):
        super().setup()
        self.server.sockets.append(self.connection)

    def do_GET(self):
        self.server.connections.add(self.client_address)
        body = f'{{"name": "{self.server.name}"}}'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _serve(name, port=0):
    server = ThreadingHTTPServer(("127.0.0.1", port), _Answer)
    server.daemon_threads = True
    server.name, server.connections, server.sockets = name, set(), []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _stop(server):
    """As a process that exits: the listener and every open connection closed."""
    server.shutdown()
    server.server_close()
    for sock in server.sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def test_checks_of_one_server_share_one_connection():
    server, probe = _serve("first"), HealthProbe()
    try:
        port = server.server_address[1]
        answers = [probe.get("127.0.0.1", port, "/api/health", timeout=2) for _ in range(5)]
        assert answers == [(200, b'{"name": "first"}')] * 5
        assert len(server.connections) == 1
    finally:
        probe.close()
        _stop(server)


def test_a_server_replaced_on_its_port_is_asked_on_a_new_connection():
    first, probe = _serve("first"), HealthProbe()
    port = first.server_address[1]
    try:
        assert probe.get("127.0.0.1", port, "/api/health", timeout=2)[1] == b'{"name": "first"}'
        _stop(first)  # the kept connection's other end is gone with it
        second = _serve("second", port)
        try:
            assert probe.get("127.0.0.1", port, "/api/health", timeout=2)[1] == b'{"name": "second"}'
        finally:
            _stop(second)
    finally:
        probe.close()


def test_nothing_listening_raises():
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with pytest.raises(OSError):
        HealthProbe().get("127.0.0.1", port, "/api/health", timeout=1)


def test_a_server_that_hangs_costs_one_timeout_not_two():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts (the kernel does) and never answers
    probe = HealthProbe()
    try:
        began = time.monotonic()
        with pytest.raises(socket.timeout):
            probe.get("127.0.0.1", listener.getsockname()[1], "/api/health", timeout=0.5)
        assert 0.4 < time.monotonic() - began < 0.9
    finally:
        probe.close()
        listener.close()


def test_past_its_size_the_least_recently_asked_connection_is_closed():
    servers, probe = [_serve(f"s{n}") for n in range(3)], HealthProbe(servers=2)
    try:
        for server in servers:
            probe.get("127.0.0.1", server.server_address[1], "/", timeout=2)
        probe.get("127.0.0.1", servers[0].server_address[1], "/", timeout=2)  # evicted: a new connection
        assert [len(s.connections) for s in servers] == [2, 1, 1]
        probe.get("127.0.0.1", servers[2].server_address[1], "/", timeout=2)  # still kept
        assert len(servers[2].connections) == 1
    finally:
        probe.close()
        for server in servers:
            _stop(server)
