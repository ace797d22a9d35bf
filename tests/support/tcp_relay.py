"""TCP relays for tests, real sockets both ways.

`TcpRelay` listens on one address and forwards each connection to another, so a container on a
bridge network reaches a server that listens on 127.0.0.1 only. `TcpFront` is a load balancer in
front of several backends (orchestrator replicas behind one address).
"""
import collections
import socket
import threading


class TcpRelay:
    def __init__(self, listen_host, target):
        self.target = target
        self._listener = socket.create_server((listen_host, 0))
        self.address = self._listener.getsockname()
        self._open = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed
                return
            upstream = self._connect()
            if upstream is None:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open += [client, upstream]
            threading.Thread(target=_pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()

    def _connect(self):
        """A connection to the target for one client, or None when it can't be reached."""
        try:
            return socket.create_connection(self.target, timeout=5)
        except OSError:
            return None

    def close(self):
        self._listener.close()
        with self._lock:
            for sock in self._open:
                _close(sock)
            self._open.clear()


class TcpFront(TcpRelay):
    """One address for several backends: each new connection goes to the next backend in turn
    (round robin); a backend that refuses it is skipped for this connection, as a load balancer's
    passive health check would, so a stopped or killed backend costs its own clients only.
    `connections` counts the connections each backend took."""

    def __init__(self, listen_host, backends):
        self.backends = list(backends)
        self.connections = collections.Counter()
        self._turn = 0
        super().__init__(listen_host, None)

    def _connect(self):
        with self._lock:
            start, self._turn = self._turn, self._turn + 1
        for step in range(len(self.backends)):
            backend = self.backends[(start + step) % len(self.backends)]
            try:
                upstream = socket.create_connection(backend, timeout=5)
            except OSError:
                continue
            with self._lock:
                self.connections[backend] += 1
            return upstream
        return None


def _pipe(source, sink):
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
