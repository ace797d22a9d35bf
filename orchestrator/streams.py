"""Caps on the live streams (SSE) an orchestrator process holds: per caller and in all.

A logged-in caller is counted per user, an anonymous one per address, with a generous cap: at a LAN
venue hundreds of viewers share one address. Both the orchestrator's feeds and the tournament
servers' /api/events (through the gateway) count. Caps are per process, as the streams are.
"""
import math
import threading
from collections import Counter

from flask import current_app, request
from flask_login import current_user

from orchestrator import metrics
from orchestrator.extensions import db
from shared.errors import APIError


class StreamSlots:
    """The open streams of this process, by caller; `claim` refuses one past a cap."""

    def __init__(self, per_user, per_address, total, retry_after):
        self.per_user, self.per_address, self.total = per_user, per_address, total
        self.retry_after = str(max(1, math.ceil(retry_after)))
        self._open = Counter()
        self._total = 0
        self._lock = threading.Lock()

    def claim(self, caller):
        """Count one more stream for `caller` (("user", id) or ("address", ip)); return its release.

        :raise 503: when this process holds its total of streams. :raise 429: past the caller's cap.
        """
        limit = self.per_user if caller[0] == "user" else self.per_address
        with self._lock:
            if self._total >= self.total:
                raise APIError(503, "too_many_streams",
                               f"This server holds all the live streams it can; retry in {self.retry_after} s.",
                               headers={"Retry-After": self.retry_after})
            if self._open[caller] >= limit:
                raise APIError(429, "too_many_streams",
                               f"At most {limit} live streams per {caller[0]}; close one or retry in "
                               f"{self.retry_after} s.", headers={"Retry-After": self.retry_after})
            self._open[caller] += 1
            self._total += 1
        released = []

        def release():
            with self._lock:
                if released:
                    return
                released.append(True)
                self._total -= 1
                self._open[caller] -= 1
                if not self._open[caller]:
                    del self._open[caller]
        return release

    def open_count(self):
        with self._lock:
            return self._total


def caller():
    """Who holds a stream: the logged-in user, else the client's address."""
    if current_user.is_authenticated:
        return ("user", current_user.id)
    return anonymous_caller(request.remote_addr)


def anonymous_caller(remote_addr):
    """An anonymous client's stream counts against its address."""
    return ("address", remote_addr or "")


def hold_stream(slots, holder, kind):
    """One of `slots` for `holder` (see `caller`), counted on /metrics as a stream of `kind`
    (feed, page, gateway) until the returned release is called (once is enough; more is harmless).

    :raise 429, 503: see StreamSlots.claim.
    """
    release_slot = slots.claim(holder)
    uncount = metrics.stream_opened(kind)

    def release():
        release_slot()
        uncount()
    return release


def stream_response(build, kind):
    """The streaming response `build()` makes, holding one of this process's slots while it is open;
    `kind` (feed, page, gateway) is what /metrics counts it as.

    :raise 429, 503: see StreamSlots.claim.
    """
    release = hold_stream(current_app.extensions["stream_slots"], caller(), kind)
    # A stream lasts as long as its viewer: hand the request's database connection back first, or
    # each open stream would keep one of the pool's 15 (and a burst of viewers, each waiting for a
    # second one for the feed's first read, would deadlock the pool). Only a session this request
    # made: asking for one makes it, which was a fifth of an anonymous viewer's time in the view.
    if db.session.registry.has():
        db.session.close()
    try:
        response = build()
    except BaseException:
        release()
        raise
    # Called when the server closes the response: the client went away or the stream ended.
    response.call_on_close(release)
    return response
