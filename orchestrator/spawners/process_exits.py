"""Watching processes that are not our children for their exit, all of them in one system call.

A forked tournament server is the zygote's child, an adopted one a previous orchestrator's: we
cannot wait for them. Their command lines were read every supervisor round instead (~30 us each,
200 servers every second: 14% of an idle fleet's supervision in py-spy). A pidfd (Linux 5.3+) is a
handle on one process, never on a later one with the same pid, that polls readable once it has
exited; an epoll set of them answers "which exited?" in one call.
"""
import os
import select
import threading

try:
    from gevent.monkey import get_original
except ImportError:  # pragma: no cover - the orchestrator always has gevent
    _Epoll = getattr(select, "epoll", None)
else:
    # A poll with no wait, which must not go through gevent's hub (gevent removes epoll from select).
    _Epoll = get_original("select", "epoll") if hasattr(select, "EPOLLIN") else None


class ProcessExits:
    """Processes watched under a key (a (tournament id, pid) instance, say) until they exit."""

    available = _Epoll is not None and hasattr(os, "pidfd_open")

    def __init__(self):
        self._fds, self._keys = {}, {}  # key -> pidfd, pidfd -> key
        self._epoll, self._owner = None, None
        self._lock = threading.Lock()

    def watch(self, key, pid):
        """Watch process `pid` as `key`; False when it is already gone (or this host can't watch)."""
        if not self.available:
            return False
        try:
            fd = os.pidfd_open(pid)
        except OSError:  # gone (ESRCH); or a kernel without pidfds (ENOSYS): asked anew each time
            return False
        with self._lock:
            self._forget(key)
            self._poller().register(fd, select.EPOLLIN)
            self._fds[key], self._keys[fd] = fd, key
        return True

    def watching(self, key):
        return key in self._fds

    def exited(self):
        """{key} of the watched processes that exited; they are not watched any more."""
        with self._lock:
            if not self._fds or self._owner != os.getpid():
                return set()
            exited = set()
            for fd, _events in self._epoll.poll(0):
                exited.add(self._keys[fd])
                self._forget(self._keys[fd])
            return exited

    def forget(self, key):
        with self._lock:
            self._forget(key)

    def _forget(self, key):
        fd = self._fds.pop(key, None)
        if fd is not None:
            del self._keys[fd]
            self._epoll.unregister(fd)
            os.close(fd)

    def _poller(self):
        if self._owner != os.getpid():
            # Made before a fork (a gunicorn worker's parent): those descriptors are the parent's.
            self._fds, self._keys = {}, {}
            self._epoll, self._owner = _Epoll(), os.getpid()
        return self._epoll
