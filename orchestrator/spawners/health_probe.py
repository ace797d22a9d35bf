"""The supervisor's health checks on kept-alive connections, one per server address.

A check is a GET of a small JSON document, tens of them a second across a large fleet, so its
client's own cost is most of what the check costs the orchestrator: `requests` spends ~1 ms of CPU
per call here (sessions, adapters, hooks, cookie jars) against ~0.1 ms for `http.client` on an open
socket. Not for sharing between threads (the supervisor's thread owns one).
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
        address = (host, port)
        connection = self._connections.pop(address, None)
        if connection is not None:
            try:
                return self._ask(address, connection, path, timeout)
            except socket.timeout:
                connection.close()
                raise  # a server that hangs is not asked twice in one check
            except (OSError, http.client.HTTPException):
                # A kept connection the server closed, or to a server since replaced on this
                # port: ask once on a new one.
                connection.close()
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            return self._ask(address, connection, path, timeout)
        except BaseException:
            connection.close()
            raise

    def _ask(self, address, connection, path, timeout):
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        connection.request("GET", path)
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
