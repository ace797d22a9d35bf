"""What a crowd of viewers connecting at the same moment shares: one database read of each thing.

When thousands of viewers (re)connect to one tournament's feed at once (a big event starting, a
proxy or an orchestrator restarting), each would read the same registry row, the same feed head
and the same replay. Here the viewers asking for the same thing while a read of it waits its turn
share that read; a read already under way is never joined, so no one gets an answer older than
their question. A database that can't be reached fails every one of them, as their own read would.
"""
import threading


class _Read:
    __slots__ = ("done", "value", "error")

    def __init__(self):
        self.done = threading.Event()
        self.value = self.error = None


class SharedReads:
    """`read(key, fetch)`: fetch() once for all the callers of `key` that arrive before it starts."""

    def __init__(self):
        self._lock = threading.Lock()
        self._waiting = {}  # key -> the next read, not started: newcomers join it
        self._running = {}  # key -> the read under way: newcomers don't join it

    def read(self, key, fetch):
        with self._lock:
            batch = self._waiting.get(key)
            leads = batch is None
            if leads:
                batch = self._waiting[key] = _Read()
        if leads:
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
