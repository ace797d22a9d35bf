"""bench/sse_load.c, the C load generator the SSE benchmarks' figures rest on, against a scripted
HTTP server on a real socket: what it parses and records from a chunked body cut at every odd
place, its retries when refused, its reconnect storm with Last-Event-ID, and an error answer."""
import socket
import threading
import time

from bench.sse_load import LoadGenerator
from bench.sse_viewer import wait_for
from tests.support.processes import free_port
from tests.support.raw_http import read_head

FRAMES = (b": connected\n\n"
          b"id: 1\nevent: match_result\ndata: {\"seq\": 1, \"winner\": \"t1\"}\n\n"
          b": heartbeat\n\n"
          b"id: 2\nevent: match_ready\ndata: {\"seq\": 3}\n\n"  # data's seq is not the id
          b"id: 3\ndata: {\"seq\": 3,\ndata: \"two\": \"lines\"}\n\n")


class ScriptedServer:
    """Accepts on `port` (from `listen()` on) and answers each request with `answer(request)`'s
    bytes, written a few at a time so the client reads them cut anywhere; keeps the connection
    open after. Remembers each request."""

    def __init__(self, answer, port=None):
        self.answer, self.port = answer, port or free_port()
        self.requests, self.sock = [], None

    def listen(self):
        self.sock = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request = read_head(conn)
        if b"\r\n\r\n" not in request:
            return
        self.requests.append(request.decode())
        reply = self.answer(request.decode())
        try:
            for at in range(0, len(reply), 5):
                conn.sendall(reply[at:at + 5])
                time.sleep(0.0005)
            conn.recv(1)  # until the client closes
        except OSError:
            pass
        conn.close()

    def close(self):
        self.sock.close()


def chunked(body, sizes=(1, 7, 3, 12, 2)):
    """`body` as an HTTP/1.1 chunked body of small chunks of varied sizes (not ended)."""
    out, at, i = [], 0, 0
    while at < len(body):
        piece = body[at:at + sizes[i % len(sizes)]]
        out.append(b"%x\r\n%s\r\n" % (len(piece), piece))
        at, i = at + len(piece), i + 1
    return b"".join(out)


def stream(_request):
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            + chunked(FRAMES))


def test_it_records_each_event_with_its_type_and_receive_time_and_flags_data_not_matching_its_id():
    server = ScriptedServer(stream).listen()
    before = time.monotonic()
    with LoadGenerator(server.port) as generator:
        generator.open(3, "/api/v1/events/tournaments/t1")
        progress = wait_for(generator, lambda p: p.reached(3), 10)
        after = time.monotonic()
        viewers = generator.viewers()
    server.close()
    assert progress.connected == 3 and progress.all_connected_at is not None
    assert len(viewers) == 3
    for v in viewers:
        assert [(seq, kind) for seq, kind, _ in v.events] == [(1, "match_result"), (2, "match_ready"), (3, "")]
        assert all(before < at < after for _, _, at in v.events)  # the same clock as time.monotonic()
        assert (v.connected, v.bad_data, v.error, v.status) == (True, 1, None, 200)
    assert all(r.startswith("GET /api/v1/events/tournaments/t1 HTTP/1.1\r\n") and "Accept: text/event-stream" in r
               and "Last-Event-ID" not in r for r in server.requests)


def test_refused_viewers_try_again_until_the_server_listens_then_a_storm_resumes_from_the_last_id():
    server = ScriptedServer(stream)
    with LoadGenerator(server.port) as generator:
        generator.open(2, "/feed")
        refused = wait_for(generator, lambda p: p.retries >= 2, 5)
        assert refused.retries >= 2 and refused.connected == 0 and refused.failed == 0
        server.listen()
        assert wait_for(generator, lambda p: p.reached(3), 10).reached(3)
        dropped_at = generator.drop_all()
        back = wait_for(generator, lambda p: p.all_connected_at is not None and len(server.requests) == 4, 10)
        assert back.all_connected_at > dropped_at
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(len(v.events) == 6 for v in generator.viewers()):
            time.sleep(0.05)
        viewers = generator.finish()
    server.close()
    assert [r.count("Last-Event-ID: 3\r\n") for r in server.requests] == [0, 0, 1, 1]
    # After the storm each viewer got the scripted stream again: ids 1-3 twice (the duplicates a
    # server that ignored Last-Event-ID would cause, which the benches count).
    assert all([seq for seq, _, _ in v.events] == [1, 2, 3, 1, 2, 3] for v in viewers)


def test_an_answer_other_than_200_ends_the_viewer_with_its_status_and_body():
    server = ScriptedServer(lambda _r: b"HTTP/1.1 503 SERVICE UNAVAILABLE\r\nContent-Length: 26\r\n\r\n"
                                       b"{\"error\": \"too_many_streams\"}").listen()
    with LoadGenerator(server.port) as generator:
        generator.open(1, "/feed")
        progress = wait_for(generator, lambda p: p.failed == 1, 10)
        (viewer,) = generator.finish()
    server.close()
    assert (progress.failed, progress.retries, len(server.requests)) == (1, 0, 1)
    assert viewer.status == 503 and viewer.error.startswith("HTTP 503 {\"error\": \"too_many_streams")
    assert not viewer.connected and viewer.events == []
