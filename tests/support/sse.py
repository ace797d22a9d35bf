"""A real Server-Sent Events client over a raw HTTP connection, as a browser's EventSource reads it."""
import json
import queue
import threading

import requests


class SSEClient:
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

    def close(self):
        self.response.close()
