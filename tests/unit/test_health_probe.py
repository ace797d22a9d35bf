"""The supervisor's health probe (orchestrator/spawners/health_probe.py) against real HTTP servers
on loopback: kept-alive connections, a server replaced on its port, a server that hangs, and a
round's checks asked side by side."""
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
        if self.server.barrier is not None:
            # Answer only once every server has its request: asked one after the other, the first
            # would wait for the others' requests forever (until the barrier breaks).
            self.server.barrier.wait()
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
    server.name, server.connections, server.sockets, server.barrier = name, set(), [], None
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


def test_many_checks_are_all_sent_before_any_answer_is_read():
    servers, probe = [_serve(f"s{n}") for n in range(4)], HealthProbe()
    addresses = [("127.0.0.1", server.server_address[1]) for server in servers]
    try:
        for address in addresses:  # each has its kept connection now
            probe.get(*address, "/api/health", timeout=2)
        barrier = threading.Barrier(len(servers), timeout=3)
        for server in servers:
            server.barrier = barrier
        answers = probe.get_many(addresses, "/api/health", timeout=5)
        assert answers == {address: (200, f'{{"name": "s{n}"}}'.encode()) for n, address in enumerate(addresses)}
        assert not barrier.broken
        assert [len(server.connections) for server in servers] == [1] * len(servers)  # still the kept ones
    finally:
        probe.close()
        for server in servers:
            _stop(server)


def test_side_by_side_a_gone_a_hung_a_new_and_a_live_server_each_get_their_own_answer():
    live, gone, new = _serve("live"), _serve("gone"), _serve("new")
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(8)
    probe = HealthProbe()
    at = {name: ("127.0.0.1", server.server_address[1]) for name, server in (("live", live), ("gone", gone),
                                                                          ("new", new))}
    at["hung"] = hung.getsockname()
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        at["nobody"] = free.getsockname()
    try:
        for name in ("live", "gone"):
            probe.get(*at[name], "/api/health", timeout=2)
        _stop(gone)
        began = time.monotonic()
        answers = probe.get_many([at[name] for name in ("gone", "hung", "live", "new", "nobody")], "/api/health",
                                 timeout=0.5)
        assert isinstance(answers[at["gone"]], OSError)  # its kept connection, then a new one, refused
        assert isinstance(answers[at["hung"]], socket.timeout)
        assert isinstance(answers[at["nobody"]], OSError)
        assert answers[at["live"]] == (200, b'{"name": "live"}')
        assert answers[at["new"]] == (200, b'{"name": "new"}')
        assert time.monotonic() - began < 0.9  # the hung one is waited for once
        # The live and new servers' connections are kept for the next round; nothing else is.
        assert probe.get_many([at["live"], at["new"]], "/api/health", timeout=2)[at["new"]][0] == 200
        assert len(live.connections) == 1 and len(new.connections) == 1
    finally:
        probe.close()
        hung.close()
        for server in (live, new):
            _stop(server)
