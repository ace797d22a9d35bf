"""One viewer's Server-Sent Events stream: replay from the database, then live, no gap, no duplicate."""
import logging
import queue

from shared import events
from shared.errors import database_unavailable
from shared.feeds import REPLAY_BATCH
from shared.pubsub import RESYNC, WAKE
from shared.validation import counter

log = logging.getLogger(__name__)

HEARTBEAT = b": heartbeat\n\n"
SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    # Nginx and similar proxies buffer responses unless told not to; a buffered stream is not live.
    "X-Accel-Buffering": "no",
}


class BadLastEventId(ValueError):
    pass


def parse_last_event_id(header_value, query_value=None):
    """The Last-Event-ID header (or `?last_event_id=` for clients that can't set it), or None.

    :raise BadLastEventId: when it is not a non-negative integer.
    """
    raw = header_value if header_value not in (None, "") else query_value
    if raw in (None, ""):
        return None
    value = counter(raw)
    if value is None:
        raise BadLastEventId("Last-Event-ID must be a non-negative integer (ASCII digits, at most 18)")
    return value


def event_stream(hub, channel, feed, last_event_id, heartbeat_seconds=15.0):
    """SSE frames for `channel`: what came after `last_event_id`, then live events.

    The feed's head is read before this returns, so a database that can't be reached fails the
    request (503) before the response starts, not a stream that has.
    """
    # Without Last-Event-ID a viewer follows from the moment it connected; an id beyond the
    # head (remembered from another deployment, or made up) must not hide the events to come.
    head = feed.head()
    last = head if last_event_id is None else min(last_event_id, head)
    return _frames(hub, channel, feed, last, heartbeat_seconds)


def _frames(hub, channel, feed, last, heartbeat_seconds):
    """The stream after `last`. The viewer joins the hub before reading the database, so an event
    committed meanwhile is either in the read or in the queue; seqs at or below the last one sent
    are dropped, and a jump in seq (a publish lost while Redis was away) is filled from the
    database before going on. A database lost mid-stream ends the stream: the client resumes
    with Last-Event-ID (and gets 503 until it is back)."""
    viewer = hub.join(channel)
    try:
        # A first byte at once: some proxies hold a response until they see one.
        yield b": connected\n\n"
        last = yield from _backfill(feed, last)
        for items in _batches(viewer, heartbeat_seconds):
            if items is None:
                yield HEARTBEAT
                continue
            frames = []
            for item in items:
                if item is RESYNC:
                    last = _collect(_backfill(feed, last), frames)
                    continue
                seq, frame = item
                if seq <= last:
                    continue
                if seq > last + 1:
                    last = _collect(_backfill(feed, last, until=seq - 1), frames)
                frames.append(frame)
                last = seq
            if frames:
                yield b"".join(frames)
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        log.warning("ending the stream of %s: the database can't be reached", channel)
    finally:
        hub.leave(viewer)


# A page that lost its stream comes back after this long (the browser's default is ~3 s).
PAGE_RETRY_MS = 1000


def page_stream(hub, kinds, heartbeat_seconds=15.0):
    """SSE frames for one page: `event: <kind>` and `data: {"seq", "type"}` for each event on the
    channels of `kinds` ({kind: channel}), or `data: {"resync": true}` when some may have been
    missed. No ids and no replay: a page refetches what it shows whenever it (re)connects and
    whenever an event names what changed, so the frames stay small and say nothing a viewer may
    not see (every fragment it refetches checks its permissions)."""
    viewer = hub.join_page(kinds)

    def frames():
        try:
            yield f"retry: {PAGE_RETRY_MS}\n: connected\n\n".encode()
            for items in _batches(viewer, heartbeat_seconds):
                if items is None:
                    yield HEARTBEAT
                    continue
                # A burst of one kind's events asks the page to refetch once per type, not per event.
                latest = {}
                for entry in items:
                    if entry is not WAKE:
                        kind, item = entry
                        data, event_type = _page_data(item)
                        latest[kind, event_type] = data
                if latest:
                    yield b"".join(b"event: %s\ndata: %s\n\n" % (kind.encode(), data)
                                   for (kind, _type), data in latest.items())
        finally:
            hub.leave(viewer)
    return frames()


def _page_data(item):
    """(the page frame's data, the event type or None) of a feed's item: (seq, full frame) or RESYNC."""
    if item is RESYNC:
        return b'{"resync": true}', None
    seq, frame = item
    # The full frame starts "id: <seq>\nevent: <type>\n": its type is all the page needs.
    event_type = frame.split(b"\n", 2)[1][len(b"event: "):]
    return b'{"seq": %d, "type": "%s"}' % (seq, event_type), event_type


def _batches(viewer, heartbeat_seconds):
    """What waits in `viewer`'s queue, a list at a time (under load several frames wait by the
    time this viewer runs: one write for all of them), or None after `heartbeat_seconds` of
    silence; until the viewer is let go."""
    while not viewer.overflowed:
        try:
            items = [viewer.queue.get(timeout=heartbeat_seconds)]
        except queue.Empty:
            yield None
            continue
        while True:
            try:
                items.append(viewer.queue.get_nowait())
            except queue.Empty:
                break
        yield items


def _collect(frames_then_last, into):
    """Append a _backfill generator's frames to `into`; return the last seq it reached."""
    while True:
        try:
            into.append(next(frames_then_last))
        except StopIteration as done:
            return done.value


def _backfill(feed, last, until=None):
    """Yield frames for the events after `last` (up to `until`) in the database; return the new last."""
    while True:
        rows = feed.read_after(last, until=until)
        for seq, event_type, payload in rows:
            yield events.sse_frame(seq, event_type, payload)
            last = seq
        if len(rows) < REPLAY_BATCH:
            return last
