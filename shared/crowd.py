"""What a crowd of viewers connecting at the same moment shares: one database read of each thing.

When thousands of viewers (re)connect to one tournament's feed at once (a big event starting, a
proxy or an orchestrator restarting), each would read the same registry row, the same feed head
and the same replay. Here the viewers asking for the same thing while a read of it waits its turn
share that read; a read already under way is never joined, so no one gets an answer older than
their question. A database that can't be reached fails every one of them, as their own read would.

Sharing needs the viewers to overlap, and a read of the local database takes ~0.2 ms: on a
process that keeps up (two workers, each half busy) viewers arriving a few hundred microseconds
apart overlapped nothing and each made its own reads, three per viewer, half of a connect's CPU
(py-spy, 6,000 viewers on two workers). So while a key is in demand (read within the last
`BUSY_SECONDS`), its next read first lingers `linger` seconds for the callers close behind; a
key asked for now and then is read at once.
"""
import threading
import time

BUSY_SECONDS = 0.05
MAX_RECENT = 10_000  # keys whose last read time is kept (a storm's keys: one per seq resumed from)


class _Read:
    __slots__ = ("done", "value", "error")

    def __init__(self):
        self.done = threading.Event()
        self.value = self.error = None


class SharedReads:
    """`read(key, fetch)`: fetch() once for all the callers of `key` that arrive before it starts;
    a key in demand waits `linger` seconds first (0: never)."""

    def __init__(self, linger=0.0, clock=time.monotonic):
        self.linger, self.clock = linger, clock
        self._lock = threading.Lock()
        self._waiting = {}  # key -> the next read, not started: newcomers join it
        self._running = {}  # key -> the read under way: newcomers don't join it
        self._last_read = {}  # key -> when its last read ended

    def read(self, key, fetch):
        with self._lock:
            batch = self._waiting.get(key)
            leads = batch is None
            if leads:
                batch = self._waiting[key] = _Read()
                last = self._last_read.get(key)
        if leads:
            if self.linger > 0 and last is not None and self.clock() - last < BUSY_SECONDS:
                time.sleep(self.linger)  # a greenlet's sleep under gevent: the crowd joins meanwhile
            self._run(key, batch, fetch)
        else:
            batch.done.wait()
        if batch.error is not None:
            # The same exception reaches every caller: without this its traceback would grow by
            # one raise per caller.
            raise batch.error.with_traceback(None)
        return batch.value

    def _run(self, key, batch, fetch):
        while True:
            with self._lock:
                running = self._running.get(key)
                if running is None:
                    # From here on, a newcomer asked after this read started: it makes the next one.
                    del self._waiting[key]
                    self._running[key] = batch
                    break
            running.done.wait()
        try:
            batch.value = fetch()
        except Exception as exc:
            batch.error = exc
        finally:
            with self._lock:
                del self._running[key]
                if len(self._last_read) >= MAX_RECENT:
                    self._last_read.clear()
                self._last_read[key] = self.clock()
            batch.done.set()


class SharedFeed:
    """A feed (shared/feeds.Feed) whose head and replays are read once for a crowd: the viewers of
    `channel` asking at the same moment (after the same seq) share one read and its frames."""

    def __init__(self, feed, channel, reads):
        self.feed, self.channel, self.reads = feed, channel, reads

    def head(self):
        return self.reads.read((self.channel, "head"), self.feed.head)

    def read_frames(self, seq, until=None):
        return self.reads.read((self.channel, "after", seq, until), lambda: self.feed.read_frames(seq, until))
