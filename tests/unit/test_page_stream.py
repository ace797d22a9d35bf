"""One page's stream over several channels (shared/sse.page_stream on a FeedHub)."""
import json

from shared import events
from shared.pubsub import FeedHub
from shared.sse import page_stream

KINDS = {"tournament": "t:1:events", "chat": "t:1:chat", "notification": "u:7:notifications"}


def event_text(seq, event_type):
    return events.encode(events.make_event(event_type, "t1", seq=seq))


def frames(chunk):
    """[(kind, data)] of the frames in one chunk."""
    found = []
    for block in chunk.decode().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if "event" in lines:
            assert "id" not in lines  # a page never replays: no Last-Event-ID to keep
            found.append((lines["event"], json.loads(lines["data"])))
    return found


def test_each_channel_is_heard_as_its_kind_and_others_are_not():
    hub = FeedHub()
    stream = page_stream(hub, KINDS, heartbeat_seconds=0.2)
    assert next(stream) == b"retry: 1000\n: connected\n\n"
    hub.dispatch("t:1:events", event_text(4, events.MATCH_REPORTED))
    assert frames(next(stream)) == [("tournament", {"seq": 4, "type": "match_reported"})]
    hub.dispatch("t:2:events", event_text(9, events.MATCH_REPORTED))  # another tournament's
    hub.dispatch("t:1:chat", event_text(1, events.TEAM_REGISTERED))
    assert frames(next(stream)) == [("chat", {"seq": 1, "type": "team_registered"})]
    assert next(stream) == b": heartbeat\n\n"
    stream.close()
    assert hub.viewer_count() == 0


def test_a_burst_asks_for_one_refetch_per_kind_and_type():
    hub = FeedHub()
    stream = page_stream(hub, KINDS, heartbeat_seconds=0.2)
    next(stream)
    for seq in range(1, 6):
        hub.dispatch("t:1:events", event_text(seq, events.MATCH_REPORTED))
    hub.dispatch("t:1:events", event_text(6, events.STATE_CHANGED))
    hub.dispatch("u:7:notifications", event_text(3, events.MATCH_READY))
    assert frames(next(stream)) == [("tournament", {"seq": 5, "type": "match_reported"}),
                                    ("tournament", {"seq": 6, "type": "state_changed"}),
                                    ("notification", {"seq": 3, "type": "match_ready"})]
    stream.close()


def test_a_resync_and_a_stop_reach_a_page_stream():
    hub = FeedHub()
    stream = page_stream(hub, KINDS, heartbeat_seconds=5)
    next(stream)
    assert hub.viewer_count() == 1  # one page, however many channels it hears
    hub.resync_all()  # the relay reconnected to Redis: anything may have been missed
    assert sorted(frames(next(stream))) == [("chat", {"resync": True}), ("notification", {"resync": True}),
                                            ("tournament", {"resync": True})]
    hub.end_all()  # this process is stopping: the page reconnects elsewhere
    assert list(stream) == []
    assert hub.viewer_count() == 0


def test_a_page_that_cannot_keep_up_is_let_go():
    hub = FeedHub(queue_size=2)
    stream = page_stream(hub, KINDS, heartbeat_seconds=5)
    next(stream)
    for seq in range(1, 5):
        hub.dispatch("t:1:events", event_text(seq, events.MATCH_REPORTED))
    # Its queue overflowed: the stream ends, unsent (the browser comes back and refetches everything).
    assert list(stream) == []
    assert hub.viewer_count() == 0
