"""The hub writing live frames straight to viewers' sockets (shared/sse.py `_write_directly`), as
under gunicorn's gevent worker: run in a gevent-patched subprocess, over a socketpair whose small
buffers make the hub's sends fall short."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r'''
from gevent import monkey

monkey.patch_all()
import json, socket, sys
import gevent
from bench.sse_viewer import dechunk
from shared import events
from shared.pubsub import FeedHub, Viewer
from shared.sse import _frames


class NoHistory:
    def read_frames(self, seq, until=None):
        return []


count, queue_size = int(sys.argv[1]), int(sys.argv[2])
hub = FeedHub(queue_size=queue_size)
server, client = socket.socketpair()
server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
queued_rests = []
offer = Viewer.offer
Viewer.offer = lambda self, item: (queued_rests.append(1) if isinstance(item, bytes) else None, offer(self, item))[1]


def respond():
    stream = _frames(hub, "t:1:events", NoHistory(), 0, 15, socket=server)
    for frame in stream:  # what the server writes itself: the first comment only
        server.sendall(b"%X\r\n%s\r\n" % (len(frame), frame))


responder = gevent.spawn(respond)
gevent.sleep(0.1)
for seq in range(1, count + 1):
    hub.dispatch("t:1:events", events.encode(events.make_event("match_result", "t1", seq=seq)))
gevent.sleep(0.1)
client.settimeout(2)
raw, body = b"", b""
try:
    while True:
        data = client.recv(65536)
        if not data:
            break
        raw += data
        payload, raw = dechunk(raw)
        body += payload
except socket.timeout:
    pass
ids = [int(line[4:]) for line in body.split(b"\n") if line.startswith(b"id: ")]
print(json.dumps({"ids": ids, "connected": body.startswith(b": connected"), "rests_queued": len(queued_rests),
                  "stream_ended": responder.dead, "viewers_left": hub.viewer_count()}))
'''


def run(count, queue_size):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(count), str(queue_size)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_a_viewer_whose_socket_takes_frames_slowly_gets_every_one_once_in_order():
    seen = run(count=3000, queue_size=100_000)
    assert seen["connected"]
    assert seen["ids"] == list(range(1, 3001))
    assert seen["rests_queued"] >= 1  # the socket did not take everything at once
    assert not seen["stream_ended"]


def test_a_viewer_that_cannot_keep_up_is_let_go_with_what_it_got_in_order():
    seen = run(count=3000, queue_size=20)
    assert seen["stream_ended"] and seen["viewers_left"] == 0
    ids = seen["ids"]
    assert ids and ids == list(range(1, len(ids) + 1)) and len(ids) < 3000
