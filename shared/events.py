"""Event envelope, event types and channel names shared by both services.

An event is a flat JSON object: `type`, `tournament_id` (when it concerns one), the type's own
fields, `timestamp` and `seq`, its position in its channel. `seq` doubles as the SSE `id:`.
"""
import json
from datetime import datetime, timezone

# Tournament feed (tournament:{id}:events); every one of them is also in the tournament's log.
TOURNAMENT_PUBLISHED = "tournament_published"
STATE_CHANGED = "state_changed"
TEAM_REGISTERED = "team_registered"
TEAM_UNREGISTERED = "team_unregistered"
ROUND_ADVANCED = "round_advanced"
MATCH_RESULT = "match_result"
# The match lifecycle: a captain's report waits for the opponent's; differing reports are disputed.
MATCH_REPORTED = "match_reported"
MATCH_DISPUTED = "match_disputed"
RESULT_CORRECTED = "result_corrected"  # the organizer changed a completed result
MATCH_ABANDONED = "match_abandoned"  # a double forfeit
TEAM_CHECKED_IN = "team_checked_in"
TEAM_DISQUALIFIED = "team_disqualified"
TEAM_DROPPED = "team_dropped"  # left of its own accord: forfeits what is open, keeps its place
TOURNAMENT_COMPLETED = "tournament_completed"
# In the log when the 5-minute reminder went out, so a restarted server doesn't send it again;
# also the notification type (starts_in_minutes 5 then, 0 when the tournament starts).
TOURNAMENT_STARTING = "tournament_starting"

# Per-user notifications (user:{id}:notifications); match_result and tournament_starting too.
MATCH_READY = "match_ready"

# Global feed (global:announcements).
TOURNAMENT_ANNOUNCED = "tournament_announced"
CHAMPION_ANNOUNCED = "champion_announced"
TOURNAMENT_CANCELLED = "tournament_cancelled"

# A tournament's chat (tournament:{id}:chat), stored in chat_messages: a message, and the
# organizer's deletion of one (`message_seq`; the message's row is rewritten without its body).
CHAT_MESSAGE = "chat_message"
CHAT_MESSAGE_DELETED = "chat_message_deleted"

TOURNAMENT_EVENT_TYPES = frozenset({
    TOURNAMENT_PUBLISHED, STATE_CHANGED, TEAM_REGISTERED, TEAM_UNREGISTERED,
    ROUND_ADVANCED, MATCH_RESULT, TOURNAMENT_COMPLETED, TOURNAMENT_STARTING,
    MATCH_REPORTED, MATCH_DISPUTED, RESULT_CORRECTED, MATCH_ABANDONED, TEAM_CHECKED_IN, TEAM_DISQUALIFIED,
    TEAM_DROPPED,
})
ANNOUNCEMENT_TYPES = frozenset({TOURNAMENT_ANNOUNCED, CHAMPION_ANNOUNCED, TOURNAMENT_CANCELLED})
NOTIFICATION_TYPES = frozenset({TOURNAMENT_STARTING, MATCH_READY, MATCH_RESULT, MATCH_REPORTED, MATCH_DISPUTED,
                                TEAM_DISQUALIFIED})
CHAT_EVENT_TYPES = frozenset({CHAT_MESSAGE, CHAT_MESSAGE_DELETED})
EVENT_TYPES = TOURNAMENT_EVENT_TYPES | ANNOUNCEMENT_TYPES | NOTIFICATION_TYPES | CHAT_EVENT_TYPES


class MalformedEvent(ValueError):
    """A message on a channel that is not a well-formed event."""


def utc_now_iso():
    """The current UTC time as `2025-12-29T19:00:00.123Z`."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_event(event_type, tournament_id=None, **fields):
    """A new event of `event_type` stamped with the current time; `seq` is set when it is stored."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    event = {"type": event_type}
    if tournament_id is not None:
        event["tournament_id"] = tournament_id
    event.update(fields)
    event.setdefault("timestamp", utc_now_iso())
    return event


def encode(event):
    """The event as compact JSON text, the form it has in the log, on Redis and in SSE `data:`."""
    return json.dumps(event, separators=(",", ":"), sort_keys=True)


def decode(text):
    """The event in `text`, checked for a known type and an integer `seq`.

    :raise MalformedEvent: when `text` is not such an event.
    """
    try:
        event = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise MalformedEvent(f"not JSON: {exc}") from None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str) or event["type"] not in EVENT_TYPES:
        raise MalformedEvent("not an event object of a known type")
    if not isinstance(event.get("seq"), int) or isinstance(event.get("seq"), bool):
        raise MalformedEvent("event without an integer seq")
    return event


def sse_frame(seq, event_type, data):
    """One Server-Sent Events frame: `id:` seq, `event:` type, `data:` the JSON text."""
    return f"id: {seq}\nevent: {event_type}\ndata: {data}\n\n".encode()


class Channels:
    """Redis channel and key names, prefixed by a deployment namespace (empty by default).

    The namespace lets several deployments, or test runs, share one Redis without hearing each other.
    """

    def __init__(self, namespace=""):
        self.namespace = namespace

    def tournament_events(self, tournament_id):
        return f"{self.namespace}tournament:{tournament_id}:events"

    @property
    def global_announcements(self):
        return f"{self.namespace}global:announcements"

    def user_notifications(self, user_id):
        return f"{self.namespace}user:{user_id}:notifications"

    def tournament_chat(self, tournament_id):
        """A tournament's chat: its messages and their deletions (stored in `chat_messages`)."""
        return f"{self.namespace}tournament:{tournament_id}:chat"

    @property
    def tournament_events_pattern(self):
        return f"{self.namespace}tournament:*:events"

    @property
    def tournament_chat_pattern(self):
        return f"{self.namespace}tournament:*:chat"

    @property
    def user_notifications_pattern(self):
        return f"{self.namespace}user:*:notifications"

    def server_key(self, tournament_id, name):
        """A key private to one tournament's server (`t:{id}:{name}`)."""
        return f"{self.namespace}t:{tournament_id}:{name}"

    def tournament_id_of(self, channel, suffix=":events"):
        """The tournament id in a `tournament:{id}:events` channel name (`suffix=":chat"`: a chat
        channel's), else None."""
        prefix = f"{self.namespace}tournament:"
        if channel.startswith(prefix) and channel.endswith(suffix) and len(channel) > len(prefix) + len(suffix):
            return channel[len(prefix):-len(suffix)]
        return None
