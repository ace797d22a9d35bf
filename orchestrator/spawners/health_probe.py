"""The supervisor's health checks on kept-alive connections, one per server address.

A check is a GET of a small JSON document, tens of them a second across a large fleet, so its
client's own cost is most of what the check costs the orchestrator: `requests` spends ~1 ms of CPU
per call here (sessions, adapters, hooks, cookie jars) against ~0.1 ms for `http.client` on an open
socket. Not for sharing between threads (the supervisor's thread owns one).

A round's checks are asked side by side (`get_many`): every request is sent before any answer is
read, so the servers answer in parallel and the orchestrator sleeps once for most of them, not once
for each. Where waking a process is dear (a nested virtual machine: ~0.3-1 ms of CPU after a second
of sleep, bench/wakeup.py), those wakeups were most of an idle fleet's supervision.
"""
import http.client
import socket
from collections import OrderedDict


class HealthProbe:
    """GETs on one kept-alive connection per (host, port), the least recently used closed past
    `servers` of them."""

    def __init__(self, servers=1024):
        self.servers = servers
        self._connections = OrderedDict()  # (host, port) -> HTTPConnection

    def get(self, host, port, path, timeout):
        """(status, body bytes) of GET `path`; raises OSError or http.client.HTTPException when
        the server cannot be asked (a timeout included)."""
        answer = self.get_many([(host, port)], path, timeout)[(host, port)]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def get_many(self, addresses, path, timeout):
        """{(host, port): (status, body bytes), or the OSError or HTTPException it raised} of GET
        `path` from each of `addresses` (distinct), every request on a kept connection sent before
        any answer is read; those without one are asked after, in turn. A kept connection the
        server closed (or one to a server since replaced on its port) is asked once more on a new
        one; a server that hangs is not asked twice."""
        sent, answers = [], {}
        for address in addresses:
            connection = self._connections.pop(address, None)
            if connection is not None:
                try:
                    self._send(connection, path, timeout)
                except (OSError, http.client.HTTPException):
                    connection.close()
                    connection = None
            sent.append((address, connection))
        for address, connection in sent:
            try:
                if connection is not None:
                    try:
                        answers[address] = self._receive(address, connection)
                        continue
                    except socket.timeout:
                        connection.close()
                        raise
                    except (OSError, http.client.HTTPException):
                        connection.close()  # once more, on a new connection
                answers[address] = self._ask_anew(address, path, timeout)
            except (OSError, http.client.HTTPException) as exc:
                answers[address] = exc
        return answers

    def _ask_anew(self, address, path, timeout):
        connection = http.client.HTTPConnection(*address, timeout=timeout)
        try:
            self._send(connection, path, timeout)
            return self._receive(address, connection)
        except BaseException:
            connection.close()
            raise

    @staticmethod
    def _send(connection, path, timeout):
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        connection.request("GET", path)

    def _receive(self, address, connection):
        response = connection.getresponse()
        body = response.read()
        if response.will_close:
            connection.close()
        else:
            self._keep(address, connection)
        return response.status, body

    def _keep(self, address, connection):
        self._connections[address] = connection
        while len(self._connections) > self.servers:
            _, oldest = self._connections.popitem(last=False)
            oldest.close()

    def close(self):
        """Close every kept connection (a supervisor that lost the lead keeps none open)."""
        while self._connections:
            _, connection = self._connections.popitem()
            connection.close()
