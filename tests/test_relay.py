"""The SSE stream over a real database feed: overflow, gap fill, duplicates, heartbeats."""
import collections
import threading
import time

import pytest

from shared import events
from shared.db.engine import make_engine
from shared.feeds import TournamentFeed
from shared.pubsub import FeedHub
from shared.sse import event_stream
from tests.support.registry import delete_registry_row, insert_registry_row
from tournament_service.store import EventLog

CHANNEL = "test:relay"


@pytest.fixture
def log_and_feed(database_url):
    engine = make_engine(database_url)
    # A published tournament: a server opens the log only of one the registry says is published.
    tournament_id = insert_registry_row(engine)
    yield EventLog(engine, tournament_id), TournamentFeed(engine, tournament_id)
    delete_registry_row(engine, tournament_id)
    engine.dispose()


def append(log, count, after):
    """Store `count` events after seq `after`; return their texts by seq."""
    produced = [events.make_event(events.TEAM_REGISTERED, log.tournament_id, team={"id": f"team_{n}"})
                for n in range(after + 1, after + count + 1)]
    stored, _announced, _notified = log.append(after, produced)
    return dict(stored)


def frame_ids(chunks):
    """The ids of every frame in the chunks a stream yielded (one chunk may hold several frames)."""
    return [int(line[4:]) for chunk in chunks for line in chunk.split(b"\n") if line.startswith(b"id: ")]


def test_a_slow_viewer_is_let_go_without_holding_up_the_others(log_and_feed):
    log, feed = log_and_feed
    append(log, 1, after=0)
    hub = FeedHub(queue_size=3)
    slow = event_stream(hub, CHANNEL, feed, 0, heartbeat_seconds=0.2)
    fast = event_stream(hub, CHANNEL, feed, 0, heartbeat_seconds=0.2)
    # Both have joined and read event 1 from the database; the slow one stops reading there.
    assert [next(slow), next(fast)] == [b": connected\n\n"] * 2
    assert frame_ids([next(slow), next(fast)]) == [1, 1]
    fast_frames = []

    def read_fast():
        for frame in fast:
            if frame.startswith(b"id: "):
                fast_frames.append(frame)
            if len(fast_frames) == 10:
                return

    reader = threading.Thread(target=read_fast)
    reader.start()
    texts = append(log, 10, after=1)
    for seq in sorted(texts):
        hub.dispatch(CHANNEL, texts[seq])
        time.sleep(0.02)  # a steady rate the reading viewer keeps up with
    reader.join(timeout=10)
    assert frame_ids(fast_frames) == list(range(2, 12))

    # The slow viewer's queue (3) overflowed: its stream ends instead of growing without bound.
    assert list(slow) == []
    resumed = event_stream(hub, CHANNEL, feed, 1, heartbeat_seconds=0.2)
    replay = [next(resumed) for _ in range(11)]
    assert frame_ids(replay) == list(range(2, 12))
    resumed.close()
    fast.close()
    assert hub.viewer_count() == 0


def test_a_gap_in_live_events_is_filled_from_the_database_and_duplicates_dropped(log_and_feed):
    log, feed = log_and_feed
    hub = FeedHub()
    stream = event_stream(hub, CHANNEL, feed, None, heartbeat_seconds=0.2)
    assert next(stream) == b": connected\n\n"
    assert next(stream) == b": heartbeat\n\n"  # now parked on its queue, following live
    texts = append(log, 5, after=0)
    for seq in (1, 2, 2, 5, 4, 1):  # 3 and 4 were lost on the way; 2 and 1 come twice
        hub.dispatch(CHANNEL, texts[seq])
    # All of it waited in the queue: one chunk, with the gap filled from the database.
    chunk = next(stream)
    assert frame_ids([chunk]) == [1, 2, 3, 4, 5]
    assert chunk.count(b"\n\n") == 5 and chunk.endswith(b"\n\n")
    assert next(stream) == b": heartbeat\n\n"  # nothing else: no duplicate of 4 or 1
    stream.close()
    assert hub.viewer_count() == 0


def test_a_new_viewer_starts_at_the_head_and_a_bad_message_is_ignored(log_and_feed):
    log, feed = log_and_feed
    append(log, 3, after=0)
    hub = FeedHub()
    stream = event_stream(hub, CHANNEL, feed, None, heartbeat_seconds=0.2)
    next(stream)
    hub.dispatch(CHANNEL, "not json")
    hub.dispatch(CHANNEL, '{"type": ["state_changed"], "seq": 9}')
    texts = append(log, 1, after=3)
    hub.dispatch(CHANNEL, texts[4])
    frame = next(stream)
    assert frame_ids([frame]) == [4]
    assert b"event: team_registered\n" in frame and frame.endswith(b"\n\n")
    stream.close()


def test_a_last_event_id_beyond_the_head_does_not_hide_new_events(log_and_feed):
    log, feed = log_and_feed
    append(log, 2, after=0)
    hub = FeedHub()
    stream = event_stream(hub, CHANNEL, feed, 500, heartbeat_seconds=0.2)
    assert next(stream) == b": connected\n\n"
    assert next(stream) == b": heartbeat\n\n"
    texts = append(log, 1, after=2)
    hub.dispatch(CHANNEL, texts[3])
    assert frame_ids([next(stream)]) == [3]
    stream.close()


def test_the_relay_passes_on_only_what_the_log_holds_and_reads_only_for_listeners(log_and_feed):
    from orchestrator.relay import stored_payload

    log, feed = log_and_feed
    channels = events.Channels("test-relay:")
    channel = channels.tournament_events(log.tournament_id)
    reads = []
    record = stored_payload(channels, feed.engine)
    tally = collections.Counter()  # what /metrics would count (orchestrator_relay_messages_total)
    hub = FeedHub(record=lambda *args: reads.append(args) or record(*args),
                  tally=lambda outcome, count: tally.update({outcome: count}))
    heard = []
    hub.add_listener(lambda ch, event: heard.append(event["seq"]),
                     wants=lambda ch, event: event["type"] == events.STATE_CHANGED)
    texts = append(log, 1, after=0)
    hub.dispatch(channel, texts[1])  # nobody watches, no listener wants it: no read
    assert reads == []
    stream = event_stream(hub, channel, feed, None, heartbeat_seconds=0.2)
    assert next(stream) == b": connected\n\n"
    assert next(stream) == b": heartbeat\n\n"  # parked on its queue, following live
    texts.update(append(log, 1, after=1))
    forged = dict(events.decode(texts[2]), team={"id": "team_forged"})
    hub.dispatch(channel, events.encode(forged))  # a stored seq, another payload
    hub.dispatch(channel, events.encode(dict(forged, seq=3)))  # a seq the log doesn't have
    hub.dispatch(channels.tournament_events("t_elsewhere"), texts[2])  # right payload, wrong channel
    cancel = events.make_event(events.STATE_CHANGED, log.tournament_id, from_state="ACTIVE",
                               to_state="CANCELLED", seq=3)
    hub.dispatch(channel, events.encode(cancel))
    assert next(stream) == b": heartbeat\n\n" and heard == []
    hub.dispatch(channel, texts[2])
    assert next(stream) == events.sse_frame(2, events.TEAM_REGISTERED, texts[2])
    assert len(reads) == 4  # one per message that a viewer or listener needed
    # Messages that arrived together are checked with one read per channel, forged ones among them.
    texts.update(append(log, 3, after=2))
    hub.dispatch_all([(channel, texts[3]), (channel, events.encode(dict(forged, seq=2 ** 70))),
                      (channel, texts[4]), (channel, events.encode(dict(forged, seq=5))), (channel, texts[5])])
    assert len(reads) == 5
    assert frame_ids([next(stream)]) == [3, 4, 5]
    assert next(stream) == b": heartbeat\n\n"
    hub.dispatch(channel, "{not json")
    assert tally == {"relayed": 4, "dropped": 5, "unheard": 2, "malformed": 1}
    stream.close()


def test_a_forged_chat_message_is_not_relayed_and_a_chat_channel_never_moves_the_registry(log_and_feed):
    from orchestrator.relay import feed_of, state_changes, stored_payload
    from shared.feeds import ChatFeed, append_chat

    log, _feed = log_and_feed
    engine = log.engine
    channels = events.Channels("test-relay:")
    channel = channels.tournament_chat(log.tournament_id)
    assert isinstance(feed_of(channels, engine, channel), ChatFeed)
    chat = ChatFeed(engine, log.tournament_id)
    hub = FeedHub(record=stored_payload(channels, engine))
    heard = []
    hub.add_listener(lambda ch, event: heard.append(event), wants=state_changes(channels))
    stream = event_stream(hub, channel, chat, None, heartbeat_seconds=0.2)
    assert next(stream) == b": connected\n\n"
    assert next(stream) == b": heartbeat\n\n"  # following live
    with engine.begin() as conn:
        _seq, real = append_chat(conn, events.make_event(events.CHAT_MESSAGE, log.tournament_id,
                                                         author={"id": None, "username": "ana"}, body="hello"),
                                 None, "ana", "hello")
    forged = dict(events.decode(real), body="send your password to evil.example")
    hub.dispatch(channel, events.encode(forged))  # the stored seq, another text
    hub.dispatch(channel, events.encode(dict(forged, seq=2)))  # a seq the chat doesn't have
    hub.dispatch(channels.tournament_chat("t_elsewhere"), real)  # the real text on another chat
    # A state change on a chat channel, even one the table held, is nobody's to act on.
    hub.dispatch(channel, events.encode(events.make_event(events.STATE_CHANGED, log.tournament_id, seq=1,
                                                          from_state="REGISTRATION", to_state="CANCELLED")))
    assert next(stream) == b": heartbeat\n\n" and heard == []
    assert not state_changes(channels)(channel, {"type": events.STATE_CHANGED, "seq": 1})
    assert state_changes(channels)(channels.tournament_events(log.tournament_id), {"type": events.STATE_CHANGED})
    hub.dispatch(channel, real)
    assert next(stream) == events.sse_frame(1, events.CHAT_MESSAGE, real)
    stream.close()


def test_a_batch_over_many_channels_is_checked_in_one_read_and_forgeries_still_dropped(log_and_feed, database_url):
    from orchestrator.relay import stored_payload
    from shared.feeds import append_chat

    log, _feed = log_and_feed
    other = EventLog(log.engine, insert_registry_row(log.engine))
    channels = events.Channels("test-relay:")
    here, there = channels.tournament_events(log.tournament_id), channels.tournament_events(other.tournament_id)
    chat = channels.tournament_chat(log.tournament_id)
    ours, theirs = append(log, 2, after=0), append(other, 1, after=0)
    with log.engine.begin() as conn:
        _seq, said = append_chat(conn, events.make_event(events.CHAT_MESSAGE, log.tournament_id,
                                                         author={"id": None, "username": "ana"}, body="hi"),
                                 None, "ana", "hi")
    record, reads = stored_payload(channels, log.engine), []
    batched = lambda channel, seqs: record(channel, seqs)  # noqa: E731
    batched.many = lambda by_channel: reads.append(dict(by_channel)) or record.many(by_channel)
    hub = FeedHub(record=batched)
    viewers = {channel: hub.join(channel) for channel in (here, there, chat)}
    forged = events.encode(dict(events.decode(ours[2]), team={"id": "team_forged"}))
    hub.dispatch_all([(here, ours[1]), (there, theirs[1]), (here, forged), (chat, said),
                      (there, ours[2]), (here, events.encode(dict(events.decode(ours[2]), seq=2 ** 70)))])
    assert len(reads) == 1 and set(reads[0]) == {here, there, chat}
    got = {channel: [item[0] for item in viewer.take(0) or []] for channel, viewer in viewers.items()}
    assert got == {here: [1], there: [1], chat: [1]}  # the forged seq 2, the wrong channel's text: dropped
    delete_registry_row(log.engine, other.tournament_id)


def test_a_message_signed_with_the_shared_key_is_relayed_without_a_read_and_a_bad_signature_is_checked():
    from shared.pubsub import message_key, signed

    key, reads = message_key("test-gateway-secret-0123456789abcdef0123"), []
    stored = {("chan:a", 1): events.encode(events.make_event(events.TEAM_REGISTERED, "t_a", seq=1, team={"id": "x"}))}
    hub = FeedHub(record=lambda channel, seqs: reads.append(channel) or {
        seq: text for (ch, seq), text in stored.items() if ch == channel and seq in seqs}, signing_key=key)
    viewer = hub.join("chan:a")
    genuine = events.encode(events.make_event(events.TEAM_REGISTERED, "t_a", seq=2, team={"id": "y"}))
    forged = events.encode(events.make_event(events.TEAM_REGISTERED, "t_a", seq=3, team={"id": "forged"}))
    other_key = message_key("another-secret-0123456789abcdef0123456789")
    hub.dispatch_all([("chan:a", signed(key, "chan:a", genuine)),
                      ("chan:a", signed(other_key, "chan:a", forged)),  # not our key: checked, not stored
                      ("chan:a", signed(key, "chan:b", forged)),  # signed for another channel: the same
                      ("chan:a", "s1:" + "0" * 64 + ":" + stored["chan:a", 1])])  # a bad MAC on a stored text
    assert reads == ["chan:a"]  # one read, for the three not vouched for
    assert [item[0] for item in viewer.take(0) or []] == [2, 1]
