"""Event envelope, JSON encoding, SSE framing and channel names in shared/events.py."""
import json
import re

import pytest

from shared import events
from shared.events import Channels, MalformedEvent, decode, encode, make_event, sse_frame

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


# ---- make_event ---------------------------------------------------------------------------------


def test_event_type_sets():
    assert events.EVENT_TYPES == (events.TOURNAMENT_EVENT_TYPES | events.ANNOUNCEMENT_TYPES
                                  | events.NOTIFICATION_TYPES | events.CHAT_EVENT_TYPES)
    assert not events.TOURNAMENT_EVENT_TYPES & events.ANNOUNCEMENT_TYPES
    assert {"state_changed", "match_result", "round_advanced", "team_registered", "tournament_published",
            "team_unregistered", "tournament_completed", "tournament_starting", "match_reported", "match_disputed",
            "result_corrected", "match_abandoned", "team_checked_in", "team_disqualified", "team_dropped"} == events.TOURNAMENT_EVENT_TYPES
    assert {"tournament_starting", "match_ready", "match_result", "match_reported", "match_disputed",
            "team_disqualified"} == events.NOTIFICATION_TYPES
    assert {"tournament_announced", "champion_announced", "tournament_cancelled"} == events.ANNOUNCEMENT_TYPES
    assert {"chat_message", "chat_message_deleted"} == events.CHAT_EVENT_TYPES
    assert not events.CHAT_EVENT_TYPES & (events.TOURNAMENT_EVENT_TYPES | events.NOTIFICATION_TYPES)


def test_make_event_envelope():
    event = make_event("match_result", "t_123", match_id="r1_match_1", winner="team_5", round=1)
    assert event["type"] == "match_result"
    assert event["tournament_id"] == "t_123"
    assert event["match_id"] == "r1_match_1"
    assert event["winner"] == "team_5"
    assert event["round"] == 1
    assert TIMESTAMP.match(event["timestamp"]), event["timestamp"]
    assert "seq" not in event
    assert set(event) == {"type", "tournament_id", "match_id", "winner", "round", "timestamp"}


def test_make_event_without_tournament_id_has_no_such_key():
    event = make_event("tournament_announced", tournament_name="Cup")
    assert "tournament_id" not in event
    assert event["tournament_name"] == "Cup"


def test_make_event_keeps_a_given_timestamp():
    event = make_event("state_changed", "t_1", timestamp="2025-12-29T19:00:00Z", to_state="ACTIVE")
    assert event["timestamp"] == "2025-12-29T19:00:00Z"


def test_utc_now_iso_format():
    assert TIMESTAMP.match(events.utc_now_iso())


@pytest.mark.parametrize("bad_type", ["", "match_started", "MATCH_RESULT", "Tournament_Starting", None, 1])
def test_make_event_rejects_unknown_type(bad_type):
    with pytest.raises(ValueError):
        make_event(bad_type, "t_1")


# ---- encode / decode ----------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", sorted(events.EVENT_TYPES))
def test_round_trip_every_type(event_type):
    event = make_event(event_type, "t_9", payload={"nested": [1, 2, None, "é"]}, flag=True, count=0)
    event["seq"] = 42
    text = encode(event)
    assert isinstance(text, str)
    assert decode(text) == event


def test_round_trip_match_result():
    event = make_event("match_result", "t_1", match_id="r2_match_1", winner="team_3", round=2,
                       team1_id="team_3", team2_id="team_4", scores=[2, 1])
    event["seq"] = 7
    assert decode(encode(event)) == event


def test_round_trip_without_tournament_id():
    event = make_event("champion_announced", champion="team_1", champion_name="Reds")
    event["seq"] = 1
    assert decode(encode(event)) == event


def test_encode_is_compact_and_sorted():
    text = encode({"type": "state_changed", "seq": 3, "b": [1, 2], "a": {"y": 1, "x": 2}})
    assert text == '{"a":{"x":2,"y":1},"b":[1,2],"seq":3,"type":"state_changed"}'


def test_decode_accepts_bytes_and_zero_seq():
    assert decode(b'{"type":"state_changed","seq":0}') == {"type": "state_changed", "seq": 0}


@pytest.mark.parametrize("text", [
    "", "not json", "{", "{'type': 'state_changed', 'seq': 1}", None, b"\xff\xfe",
])
def test_decode_rejects_non_json(text):
    with pytest.raises(MalformedEvent):
        decode(text)


@pytest.mark.parametrize("text", ['[{"type":"state_changed","seq":1}]', "1", '"state_changed"', "null", "true"])
def test_decode_rejects_non_objects(text):
    with pytest.raises(MalformedEvent):
        decode(text)


@pytest.mark.parametrize("obj", [
    {"type": "match_started", "seq": 1},
    {"type": "", "seq": 1},
    {"type": None, "seq": 1},
    {"type": ["state_changed"], "seq": 1},
    {"seq": 1},
])
def test_decode_rejects_unknown_or_missing_type(obj):
    with pytest.raises(MalformedEvent):
        decode(json.dumps(obj))


@pytest.mark.parametrize("seq", ["missing", True, False, None, "1", 1.0, 1.5, [1]])
def test_decode_rejects_bad_seq(seq):
    obj = {"type": "state_changed", "tournament_id": "t_1"}
    if seq != "missing":
        obj["seq"] = seq
    with pytest.raises(MalformedEvent):
        decode(json.dumps(obj))


def test_malformed_event_is_a_value_error():
    assert issubclass(MalformedEvent, ValueError)


# ---- SSE ----------------------------------------------------------------------------------------


def test_sse_frame_format():
    data = '{"seq":5,"type":"match_result"}'
    frame = sse_frame(5, "match_result", data)
    assert frame == b'id: 5\nevent: match_result\ndata: {"seq":5,"type":"match_result"}\n\n'


def test_sse_frame_of_an_encoded_event_round_trips():
    event = make_event("round_advanced", "t_1", new_round=2, matches_count=2)
    event["seq"] = 12
    frame = sse_frame(event["seq"], event["type"], encode(event)).decode()
    assert frame.endswith("\n\n")
    lines = frame[:-2].split("\n")
    assert lines[0] == "id: 12"
    assert lines[1] == "event: round_advanced"
    assert lines[2].startswith("data: ")
    assert len(lines) == 3
    assert decode(lines[2][len("data: "):]) == event


def test_sse_frame_encodes_utf8():
    frame = sse_frame(1, "team_registered", '{"name":"Équipe ☃"}')
    assert frame == 'id: 1\nevent: team_registered\ndata: {"name":"Équipe ☃"}\n\n'.encode("utf-8")


# ---- channels -----------------------------------------------------------------------------------


def test_channel_names_without_namespace():
    channels = Channels()
    assert channels.tournament_events("t_1") == "tournament:t_1:events"
    assert channels.global_announcements == "global:announcements"
    assert channels.user_notifications(7) == "user:7:notifications"
    assert channels.tournament_events_pattern == "tournament:*:events"
    assert channels.server_key("t_1", "published_seq") == "t:t_1:published_seq"


def test_channel_names_with_namespace():
    channels = Channels("test42:")
    assert channels.tournament_events("t_1") == "test42:tournament:t_1:events"
    assert channels.global_announcements == "test42:global:announcements"
    assert channels.user_notifications("u1") == "test42:user:u1:notifications"
    assert channels.tournament_events_pattern == "test42:tournament:*:events"
    assert channels.server_key("t_1", "lock") == "test42:t:t_1:lock"


@pytest.mark.parametrize("namespace", ["", "ns:", "run-1/"])
@pytest.mark.parametrize("tournament_id", ["t_1", "t_123", "abc-DEF_9"])
def test_tournament_id_of_inverts_tournament_events(namespace, tournament_id):
    channels = Channels(namespace)
    assert channels.tournament_id_of(channels.tournament_events(tournament_id)) == tournament_id


@pytest.mark.parametrize("channel", [
    "global:announcements",
    "user:1:notifications",
    "tournament:t_1:chat",
    "t:t_1:events_x",
    "xtournament:t_1:events",
    "tournament:t_1:events:old",
    "tournament:events",  # no id at all
])
def test_tournament_id_of_other_channels_is_none(channel):
    assert Channels().tournament_id_of(channel) is None


def test_tournament_id_of_respects_namespace():
    assert Channels("ns:").tournament_id_of("tournament:t_1:events") is None
    assert Channels("ns:").tournament_id_of("other:tournament:t_1:events") is None
    assert Channels().tournament_id_of("ns:tournament:t_1:events") is None
    assert Channels("ns:").tournament_id_of("ns:tournament:t_1:events") == "t_1"
