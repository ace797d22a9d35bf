"""A real Server-Sent Events client over a raw HTTP connection, as a browser's EventSource reads it."""
import json
import queue
import threading

import requests


class _Events:
    """Parsed events in arrival order, from `self.events` (a queue)."""

    def next_event(self, timeout=10):
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no SSE event within {timeout}s") from None

    def collect(self, count, timeout=15):
        return [self.next_event(timeout) for _ in range(count)]

    def until(self, predicate, timeout=15):
        """Events up to and including the first that satisfies `predicate`."""
        seen = []
        while True:
            event = self.next_event(timeout)
            seen.append(event)
            if predicate(event):
                return seen

    def drain(self, wait=0.5):
        seen = []
        while True:
            try:
                seen.append(self.events.get(timeout=wait))
            except queue.Empty:
                return seen


class SSEClient(_Events):
    """Reads one SSE stream in a thread; `next_event` hands out parsed events in arrival order."""

    def __init__(self, url, last_event_id=None, timeout=10, headers=None):
        headers = {"Accept": "text/event-stream", **(headers or {})}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.response = requests.get(url, headers=headers, stream=True, timeout=(5, 60))
        self.status_code = self.response.status_code
        self.headers = self.response.headers
        self.events = queue.Queue()
        self.comments = []
        self.closed = threading.Event()
        if self.status_code == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        fields = {}
        try:
            for raw in self.response.iter_lines(chunk_size=1, decode_unicode=True):
                if raw is None:
                    continue
                if raw == "":
                    if "data" in fields:
                        self.events.put({"id": int(fields["id"]) if "id" in fields else None,
                                         "event": fields.get("event"), "data": json.loads(fields["data"])})
                    fields = {}
                elif raw.startswith(":"):
                    self.comments.append(raw)
                else:
                    name, _, value = raw.partition(":")
                    fields[name] = value[1:] if value.startswith(" ") else value
        except (requests.RequestException, AttributeError, ValueError):
            pass
        finally:
            self.closed.set()

    def close(self):
        self.response.close()


class EventSource(_Events):
    """An SSE viewer that behaves as a browser's EventSource: when its stream ends (the server went
    away), it connects again after `retry` seconds, sending the id of the last event it saw as
    Last-Event-ID, until closed. `connections` counts the streams it opened."""

    def __init__(self, url, last_event_id=None, retry=0.2, headers=None):
        self.url, self.retry, self.headers = url, retry, headers
        self.last_event_id = last_event_id
        self.events = queue.Queue()
        self.connections = 0
        self._closed = threading.Event()
        self._stream = None
        threading.Thread(target=self._follow, daemon=True).start()

    def _follow(self):
        while not self._closed.is_set():
            try:
                self._stream = SSEClient(self.url, last_event_id=self.last_event_id, headers=self.headers)
            except requests.RequestException:
                self._stream = None
            if self._stream is not None and self._stream.status_code == 200:
                self.connections += 1
                self._relay(self._stream)
            if self._stream is not None:
                self._stream.close()
            self._closed.wait(self.retry)

    def _relay(self, stream):
        # `closed` is set only after the stream's last event was queued.
        while not (stream.closed.is_set() and stream.events.empty()) and not self._closed.is_set():
            try:
                event = stream.events.get(timeout=0.1)
            except queue.Empty:
                continue
            if event["id"] is not None:
                self.last_event_id = event["id"]
            self.events.put(event)

    def close(self):
        self._closed.set()
        if self._stream is not None:
            self._stream.close()
