"""The tournament servers' live fragments, answered from the orchestrator's memory.

After one result every viewer of a tournament's page refetches its parts
(`/t/<id>/fragments/bracket?also=standings,head`): a thousand requests that would each take the
gateway hop (~4 ms of this process's CPU) for the same bytes. Here the first request for a
(tournament, path and query) after a change goes through to the server; the others get its answer
from memory, and requests that arrive while it is being fetched wait for that one fetch.

Only what the server marks as the same for every viewer is shared: its fragment answers carry
`X-Fragment-Seq: N` (the tournament's seq they were rendered at, or one before it). The viewer's
own parts (the results form, the orchestrator's organizer panel) carry no such header and are
never kept. An answer kept as seq N is given out only while:

- nothing newer was relayed: the relay tells the cache each tournament event's seq (`note`), and
  a viewer's page refetches only after its stream named that event, so it never gets an answer
  older than the frame it heard;
- no command went through this process's gateway since its fetch began (`changed`): whoever
  posted a result reads it back at once, before the relay has it;
- the relay is subscribed (a lost subscription may hide events; the cache is emptied on every
  resubscribe), the server is the one that answered (same endpoint), and it is at most
  `max_age` seconds old (a publish lost without a resubscribe heals by then).

The bytes kept are bounded (`max_bytes`, least recently used out first).
"""
import collections
import threading
import time

from shared.http import SHARED_FRAGMENT_SEQ_HEADER

SEQ_HEADER = SHARED_FRAGMENT_SEQ_HEADER
CACHE_HEADER = "X-Cache"


class Answer:
    """A whole response: (status, [(header, value)], body bytes)."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def shared_seq(self):
        """The seq the server says this answer is everyone's for, or None (not to be shared)."""
        if self.status != 200:
            return None
        value = next((v for k, v in self.headers if k.lower() == SEQ_HEADER.lower()), "")
        return int(value) if value.isdigit() else None


class _Entry:
    __slots__ = ("answer", "seq", "generation", "endpoint", "stored_at")

    def __init__(self, answer, seq, generation, endpoint, stored_at):
        self.answer, self.seq, self.generation = answer, seq, generation
        self.endpoint, self.stored_at = endpoint, stored_at


class SharedFragments:
    """Fragment answers by (tournament, path, query), one fetch per change; see the module."""

    def __init__(self, live, max_bytes=32 * 2**20, max_age=10.0, wait_timeout=10.0, clock=time.monotonic):
        """`live()`: whether the relay is subscribed now (without it, changes would go unheard)."""
        self.live, self.max_bytes, self.max_age = live, max_bytes, max_age
        self.wait_timeout, self.clock = wait_timeout, clock
        self.bytes = 0
        self._entries = collections.OrderedDict()  # key -> _Entry, least recently used first
        self._seen = {}  # tournament id (fetched since the last reset) -> newest seq relayed
        self._generation = collections.Counter()  # tournament id -> commands seen through the gateway
        self._fetching = {}  # key -> threading.Event of the one fetch under way
        self._lock = threading.Lock()

    def answer(self, tournament_id, endpoint, path, query, fetch):
        """(Answer, "HIT" or "MISS") for GET `path`?`query` of the tournament served at `endpoint`;
        `fetch()` asks the server for an Answer. Concurrent misses of one key share one fetch."""
        key = (tournament_id, path, query)
        while True:
            with self._lock:
                entry = self._valid(key, endpoint)
                if entry is not None:
                    self._entries.move_to_end(key)
                    return entry.answer, "HIT"
                under_way = self._fetching.get(key)
                if under_way is None:
                    # From now on the relay tells us of this tournament's events (see holds).
                    self._seen.setdefault(tournament_id, 0)
                    done = self._fetching[key] = threading.Event()
                    generation = self._generation[tournament_id]
                    break
            # Another request is fetching this very key: its answer is ours too, unless it was not
            # to be shared (or the fetch takes too long): then ask for ourselves.
            if not under_way.wait(self.wait_timeout):
                return fetch(), "MISS"
            with self._lock:
                entry = self._valid(key, endpoint)
                if entry is not None:
                    return entry.answer, "HIT"
            return fetch(), "MISS"
        try:
            fetched = fetch()
            self._keep(key, fetched, generation, endpoint)
            return fetched, "MISS"
        finally:
            with self._lock:
                del self._fetching[key]
            done.set()

    def _valid(self, key, endpoint):
        entry = self._entries.get(key)
        if entry is None:
            return None
        tournament_id = key[0]
        if (self.live() and entry.endpoint == endpoint and entry.seq >= self._seen.get(tournament_id, 0)
                and entry.generation == self._generation[tournament_id]
                and self.clock() - entry.stored_at <= self.max_age):
            return entry
        self._drop(key)
        return None

    def _keep(self, key, answer, generation, endpoint):
        seq = answer.shared_seq()
        size = len(answer.body)
        if seq is None or not self.live() or size > self.max_bytes // 4:
            return
        with self._lock:
            if generation != self._generation[key[0]]:
                return  # a command went through meanwhile: the answer may predate it
            self._drop(key)
            self._seen.setdefault(key[0], 0)
            self._entries[key] = _Entry(answer, seq, generation, endpoint, self.clock())
            self.bytes += size
            while self.bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def _drop(self, key):
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.bytes -= len(entry.answer.body)

    def note(self, tournament_id, seq):
        """The relay heard seq `seq` of the tournament: answers rendered before it are out."""
        with self._lock:
            if seq > self._seen.get(tournament_id, 0):
                self._seen[tournament_id] = seq

    def changed(self, tournament_id):
        """A command went through to the tournament's server: nothing fetched before it is kept."""
        with self._lock:
            self._generation[tournament_id] += 1

    def holds(self, tournament_id):
        """Whether the relay should tell this cache of the tournament's events: it keeps or fetches
        some of its answers. An event the relay hears before a fetch begins is already in what the
        server renders for it (a server folds events in before it publishes them)."""
        return tournament_id in self._seen

    def reset(self):
        """Forget everything: the relay (re)subscribed, and what it missed meanwhile is unknown."""
        with self._lock:
            self._entries.clear()
            self._seen.clear()
            self.bytes = 0
