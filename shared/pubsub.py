"""Live delivery over Redis: a publisher that survives Redis outages and a fan-out hub for viewers."""
import collections
import hashlib
import hmac
import logging
import threading
import time

import redis

from shared import events
from shared.redis_client import connect

log = logging.getLogger(__name__)

REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, OSError)
# A signed message on Redis: "s1:<hex HMAC-SHA256 of channel, newline, text>:<text>".
SIGNED = "s1:"


def message_key(secret):
    """The key live messages are signed with, from the secret the orchestrator and the tournament
    servers share (GATEWAY_SECRET); its own derivation, so a message MAC is never an identity's."""
    return hmac.new(secret.encode(), b"live messages on redis", hashlib.sha256).digest()


def _message_mac(key, channel, text):
    return hmac.new(key, f"{channel}\n{text}".encode(), hashlib.sha256).hexdigest()


def signed(key, channel, text):
    """`text` as published on `channel`, signed with `key`."""
    return f"{SIGNED}{_message_mac(key, channel, text)}:{text}"


def opened(key, channel, message):
    """(text, vouched): the text of a message from Redis, and whether it carries a valid signature
    made with `key` for this channel. Unsigned or badly signed messages are not vouched for."""
    if not message.startswith(SIGNED):
        return message, False
    mac, separator, text = message[len(SIGNED):].partition(":")
    if not separator:
        return message, False
    return text, key is not None and hmac.compare_digest(mac, _message_mac(key, channel, text))


class Publisher:
    """Publishes committed events in commit order, holding them while Redis is unreachable.

    `publish` never blocks on Redis: a command is acknowledged once its events are committed, and
    they go out as soon as Redis answers. With `mark`, the key `mark[0]` is set to `mark[1]` in the
    same round trip, so a restarted server knows what is already out. With `signing_key`
    (`message_key`), each message is signed: the relays pass it on without reading it back from
    the database (FeedHub).
    """

    def __init__(self, redis_url, max_backoff=2.0, signing_key=None):
        self.client = connect(redis_url)
        self.signing_key = signing_key
        self._pending = collections.deque()
        self._ready = threading.Condition()
        self._max_backoff = max_backoff
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="publisher", daemon=True)
        self._thread.start()

    def publish(self, channel, text, mark=None):
        if self.signing_key is not None:
            text = signed(self.signing_key, channel, text)
        with self._ready:
            self._pending.append((channel, text, mark))
            self._ready.notify()

    def flush(self, timeout=5.0):
        """Wait until everything queued went out; False if it did not within `timeout`."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._pending

    def close(self, timeout=2.0):
        self.flush(timeout)
        with self._ready:
            self._closed = True
            self._ready.notify()

    def _run(self):
        backoff = 0.05
        while True:
            with self._ready:
                while not self._pending and not self._closed:
                    self._ready.wait()
                if self._closed:
                    return
                channel, text, mark = self._pending[0]
            try:
                pipe = self.client.pipeline(transaction=False)
                pipe.publish(channel, text)
                if mark:
                    pipe.set(*mark)
                pipe.execute()
            except REDIS_DOWN as exc:
                log.warning("redis unreachable, %d event(s) held: %s", len(self._pending), exc)
                time.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = 0.05
            with self._ready:
                self._pending.popleft()


RESYNC = object()  # queued to a viewer: read the database for anything missed
WAKE = (-1, b"")  # a frame every viewer has already sent: wakes it without sending anything


class Viewer:
    """One SSE client's bounded queue of frames on one channel.

    A deque and an event rather than queue.Queue: offering a frame to each of thousands of
    viewers is the hub's inner loop, and Queue's condition variables (pure Python under gevent)
    cost several times what an append and a set do."""

    __slots__ = ("channel", "size", "pending", "ready", "overflowed", "socket", "last", "busy")

    def __init__(self, channel, size):
        self.channel, self.size = channel, size
        self.pending = collections.deque()
        self.ready = threading.Event()
        self.overflowed = False
        # Set by shared/sse.py `_write_directly`: the client's non-blocking socket, the last seq written to
        # it, and whether the viewer's own greenlet is writing (then frames queue behind it).
        self.socket, self.last, self.busy = None, 0, False

    def deliver(self, item, chunk):
        """Write the frame of `item` (seq, frame), as the HTTP chunk `chunk`, straight to the
        viewer's socket when it is next in line and the socket takes it now; queue it otherwise."""
        if self.socket is None or self.busy or self.pending or self.overflowed or item[0] != self.last + 1:
            self.offer(item)
            return
        try:
            sent = self.socket.send(chunk)
        except BlockingIOError:
            sent = 0
        except OSError:
            # The client is gone: its greenlet ends the stream.
            self.overflowed = True
            self.ready.set()
            return
        self.last = item[0]
        if sent < len(chunk):
            # The rest goes first when the viewer's greenlet runs (bytes: already framed).
            self.offer(chunk[sent:])

    def offer(self, item):
        if len(self.pending) < self.size:
            self.pending.append(item)
        else:
            # A viewer that can't keep up is let go; it resumes with Last-Event-ID.
            self.overflowed = True
        self.ready.set()

    def take(self, timeout):
        """What waits, oldest first, all at once; [] when woken with nothing new; None after
        `timeout` seconds of silence."""
        if not self.pending and not self.ready.wait(timeout):
            return None
        # Cleared before draining: a frame offered meanwhile is either drained now or sets it again.
        self.ready.clear()
        items = []
        while self.pending:
            items.append(self.pending.popleft())
        return items


class Tap:
    """A page viewer's ear on one channel: what it hears goes to the viewer's one queue, tagged
    with the channel's kind (`tournament`, `chat`, ...)."""

    __slots__ = ("channel", "kind", "viewer")

    def __init__(self, channel, kind, viewer):
        self.channel, self.kind, self.viewer = channel, kind, viewer

    def offer(self, item):
        self.viewer.offer((self.kind, item))

    def deliver(self, item, _chunk):
        self.offer(item)


class PageViewer(Viewer):
    """One page's stream over several channels (a browser allows ~6 connections per site, so a
    page holds one): a queue of (kind, item), one Tap per channel."""

    __slots__ = ("taps",)

    def __init__(self, kinds, size):
        super().__init__(None, size)
        self.taps = [Tap(channel, kind, self) for kind, channel in kinds.items()]


class FeedHub:
    """Fans events out to the viewers of each channel, never blocking on a slow one.

    With `record(channel, seqs)` ({seq: JSON text stored as that seq of `channel`}; with a
    `record.many({channel: seqs})` giving {(channel, seq): text}, a batch is read at once), a message is
    only a hint that its seq was committed: it reaches listeners and viewers only if it is, byte
    for byte, what the channel's log holds. Anything that can publish on Redis can then neither
    move the registry nor show viewers an event that did not happen.

    A message signed with `signing_key` (see `signed`: only the orchestrators and the tournament
    servers hold the key, and a server publishes only what it committed) needs no read: it is
    relayed as it is. An unsigned or badly signed one is checked against the record as above.

    `tally(outcome, count)`, when given, hears what became of each batch's messages: `relayed`,
    `dropped` (not in the record as sent), `malformed`, `unheard` (no listener or viewer wanted it).
    """

    def __init__(self, queue_size=1000, record=None, tally=None, signing_key=None):
        self.queue_size = queue_size
        self._record = record
        self._signing_key = signing_key
        self._tally = tally
        self._viewers = collections.defaultdict(set)
        self._lock = threading.Lock()
        self._listeners = []
        self._ended = False

    def join(self, channel):
        viewer = Viewer(channel, self.queue_size)
        with self._lock:
            viewer.overflowed = self._ended
            self._viewers[channel].add(viewer)
        return viewer

    def join_page(self, kinds):
        """A PageViewer of `kinds` ({kind: channel}), hearing every channel from now on."""
        viewer = PageViewer(kinds, self.queue_size)
        with self._lock:
            viewer.overflowed = self._ended
            for tap in viewer.taps:
                self._viewers[tap.channel].add(tap)
        return viewer

    def leave(self, viewer):
        with self._lock:
            for member in getattr(viewer, "taps", None) or (viewer,):
                viewers = self._viewers.get(member.channel)
                if viewers is not None:
                    viewers.discard(member)
                    if not viewers:
                        del self._viewers[member.channel]

    def viewer_count(self):
        """Streams joined (a page's stream counts once, whatever channels it hears)."""
        with self._lock:
            return len({getattr(member, "viewer", member) for group in self._viewers.values() for member in group})

    def add_listener(self, callback, wants=None):
        """Call `callback(channel, event)` for every event, before viewers get it.

        `wants(channel, event)` narrows the messages worth checking against the record for it
        (all of them when None): a message nobody needs costs no database read.
        """
        self._listeners.append((callback, wants))

    def dispatch(self, channel, text):
        """Deliver one event's JSON text to the listeners and every viewer of `channel`."""
        self.dispatch_all([(channel, text)])

    def dispatch_all(self, messages):
        """Deliver [(channel, JSON text)] in order; the record is read once per channel for all."""
        needed, outcomes = [], collections.Counter()
        for channel, message in messages:
            text, vouched = opened(self._signing_key, channel, message)
            try:
                event = events.decode(text)
            except events.MalformedEvent as exc:
                log.warning("dropped a malformed message on %s: %s", channel, exc)
                outcomes["malformed"] += 1
                continue
            listeners = [callback for callback, wants in self._listeners if wants is None or wants(channel, event)]
            with self._lock:
                viewers = list(self._viewers.get(channel, ()))
            if listeners or viewers:
                needed.append((channel, text, event, listeners, viewers, vouched))
            else:
                outcomes["unheard"] += 1
        stored = self._stored({(channel, event["seq"]) for channel, _text, event, _l, _v, vouched in needed
                               if not vouched})
        for channel, text, event, listeners, viewers, vouched in needed:
            if not vouched and stored is not None and stored.get((channel, event["seq"])) != text:
                log.warning("dropped a message on %s: seq %d is not in its log as sent", channel, event["seq"])
                outcomes["dropped"] += 1
                continue
            outcomes["relayed"] += 1
            for callback in listeners:
                try:
                    callback(channel, event)
                except Exception:
                    log.exception("event listener failed on %s", channel)
            if viewers:
                frame = events.sse_frame(event["seq"], event["type"], text)
                item = (event["seq"], frame)
                # Framed once as an HTTP/1.1 chunk: the same bytes go to every direct viewer's socket.
                chunk = b"%X\r\n%s\r\n" % (len(frame), frame)
                for viewer in viewers:
                    viewer.deliver(item, chunk)
        if self._tally is not None:
            for outcome, count in outcomes.items():
                self._tally(outcome, count)

    def _stored(self, wanted):
        """{(channel, seq): stored text} for the `wanted` pairs the record holds; None without one."""
        if self._record is None or not wanted:
            return None
        by_channel = collections.defaultdict(set)
        for channel, seq in wanted:
            by_channel[channel].add(seq)
        many = getattr(self._record, "many", None)
        if many is not None and by_channel:
            # A busy fleet's batch spans dozens of channels: one read for all of them, not one each.
            try:
                return many(by_channel)
            except Exception:
                log.exception("could not check %d message(s) against their logs", len(wanted))
                return {}
        stored = {}
        for channel, seqs in by_channel.items():
            try:
                stored.update(((channel, seq), text) for seq, text in self._record(channel, seqs).items())
            except Exception:
                # Viewers fill the gap from the log at the next event or reconnect; nothing is lost.
                log.exception("could not check %d message(s) on %s against its log", len(seqs), channel)
        return stored

    def end_all(self):
        """End every viewer's stream (this process is stopping), now and for viewers joining
        later; their clients reconnect and resume with Last-Event-ID."""
        with self._lock:
            self._ended = True
            viewers = {getattr(v, "viewer", v) for group in self._viewers.values() for v in group}
        for viewer in viewers:
            viewer.overflowed = True
            viewer.offer(WAKE)

    def resync_all(self):
        """Ask every viewer to check the database for events it may have missed."""
        with self._lock:
            viewers = [v for group in self._viewers.values() for v in group]
        for viewer in viewers:
            viewer.offer(RESYNC)


class RedisRelay:
    """The one Redis subscription of a process, feeding a FeedHub; reconnects by itself."""

    def __init__(self, redis_url, hub, channels=(), patterns=(), on_connect=None, max_backoff=2.0, batch_size=500):
        self.redis_url = redis_url
        self.batch_size = batch_size
        self.hub = hub
        self.channels = list(channels)
        self.patterns = list(patterns)
        self.on_connect = on_connect
        self.max_backoff = max_backoff
        self.connected = threading.Event()
        self._stopped = False
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._run, name="redis-relay", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopped = True

    def _run(self):
        backoff = 0.05
        while not self._stopped:
            pubsub = None
            try:
                client = connect(self.redis_url, socket_timeout=None)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                if self.patterns:
                    pubsub.psubscribe(*self.patterns)
                if self.channels:
                    pubsub.subscribe(*self.channels)
                self.connected.set()
                backoff = 0.05
                # Anything published while we were not subscribed is in the database.
                self.hub.resync_all()
                if self.on_connect:
                    self.on_connect()
                while not self._stopped:
                    # What has arrived meanwhile goes out as one batch: its log reads are one per channel.
                    batch = []
                    message = pubsub.get_message(timeout=1.0)
                    while message is not None:
                        if message["type"] in ("message", "pmessage"):
                            batch.append((message["channel"], message["data"]))
                        if len(batch) >= self.batch_size:
                            break
                        message = pubsub.get_message(timeout=0)
                    if batch:
                        self.hub.dispatch_all(batch)
            except REDIS_DOWN as exc:
                if self.connected.is_set():
                    log.warning("lost the redis subscription: %s", exc)
                self.connected.clear()
                time.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            except Exception:
                log.exception("redis relay failed; reconnecting")
                self.connected.clear()
                time.sleep(backoff)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:
                        pass
