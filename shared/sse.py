"""One viewer's Server-Sent Events stream: replay from the database, then live, no gap, no duplicate."""
import logging
from socket import SHUT_RDWR

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


def event_stream(hub, channel, feed, last_event_id, heartbeat_seconds=15.0, socket=None):
    """SSE frames for `channel`: what came after `last_event_id`, then live events.

    The feed's head is read before this returns, so a database that can't be reached fails the
    request (503) before the response starts, not a stream that has. With `socket` (the
    client's gevent socket under a chunked HTTP/1.1 response), live frames go straight to it
    once the response has started (see `_write_directly`).
    """
    # Without Last-Event-ID a viewer follows from the moment it connected; an id beyond the
    # head (remembered from another deployment, or made up) must not hide the events to come.
    head = feed.head()
    last = head if last_event_id is None else min(last_event_id, head)
    return _frames(hub, channel, feed, last, heartbeat_seconds, socket)


def _frames(hub, channel, feed, last, heartbeat_seconds, socket=None):
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
        if socket is not None:
            # Resumed only once the server has written what came before: the response is under way.
            _write_directly(viewer, socket, feed, last, heartbeat_seconds)
            return
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


def _write_directly(viewer, socket, feed, last, heartbeat_seconds):
    """Hand `viewer`, caught up to `last`, to the hub's direct writes (FeedHub.dispatch_all sends
    each event's chunk, framed once, to the OS socket of every viewer next in line for it: no
    wake of this greenlet, no pass through Flask's and the server's generators, no copy per
    viewer), and write here only what the hub queues: what the socket did not take at once,
    out-of-line seqs and resyncs (filled from the database, as `_frames` does), heartbeats.
    Frames are written as HTTP/1.1 chunks, as the server would have; it ends the body."""
    viewer.last = last
    # The OS socket is non-blocking under gevent: the hub's send never waits for a slow client.
    viewer.socket = socket._sock
    try:
        while not viewer.overflowed:
            viewer.busy = False
            items = viewer.take(heartbeat_seconds)
            # From here until the next take, frames queue behind what this greenlet writes.
            viewer.busy = True
            if items is None:
                socket.sendall(_chunk(HEARTBEAT))
                continue
            frames = []
            for item in items:
                if isinstance(item, bytes):
                    frames.append(item)  # the rest of a chunk the hub began: its seq is counted
                    continue
                if item is RESYNC:
                    viewer.last = _collect_chunks(_backfill(feed, viewer.last), frames)
                    continue
                seq, frame = item
                if seq <= viewer.last:
                    continue
                if seq > viewer.last + 1:
                    viewer.last = _collect_chunks(_backfill(feed, viewer.last, until=seq - 1), frames)
                frames.append(_chunk(frame))
                viewer.last = seq
            if frames:
                socket.sendall(b"".join(frames))
        if any(isinstance(item, bytes) for item in viewer.pending):
            # Let go in the middle of a chunk the hub began: the body can't end cleanly, so the
            # connection ends here (the client resumes with Last-Event-ID), never reused.
            socket.shutdown(SHUT_RDWR)
    except OSError:
        pass  # the client went away
    finally:
        viewer.socket = None


def _chunk(frame):
    return b"%X\r\n%s\r\n" % (len(frame), frame)


def _collect_chunks(frames_then_last, into):
    """_collect, each piece framed as a chunk."""
    chunks = []
    last = _collect(frames_then_last, chunks)
    into.extend(_chunk(frame) for frame in chunks)
    return last


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
        items = viewer.take(heartbeat_seconds)
        if items is None or items:
            yield items


def _collect(frames_then_last, into):
    """Append what a _backfill generator yields to `into`; return the last seq it reached."""
    while True:
        try:
            into.append(next(frames_then_last))
        except StopIteration as done:
            return done.value


def _backfill(feed, last, until=None):
    """Yield the frames of the events after `last` (up to `until`) in the database, those of one
    read together (a viewer resuming with Last-Event-ID gets what it missed in one write, not one
    write and one chunk per event); return the new last."""
    while True:
        frames = feed.read_frames(last, until=until)
        if frames:
            yield b"".join(frame for _seq, frame in frames)
            last = frames[-1][0]
        if len(frames) < REPLAY_BATCH:
            return last
