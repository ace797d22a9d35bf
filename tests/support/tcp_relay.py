"""A TCP relay for tests: listens on one address and forwards each connection to another, so a
container on a bridge network reaches a server that listens on 127.0.0.1 only."""
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
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open += [client, upstream]
            threading.Thread(target=_pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()

    def close(self):
        self._listener.close()
        with self._lock:
            for sock in self._open:
                _close(sock)
            self._open.clear()


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
