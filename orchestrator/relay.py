"""The orchestrator's SSE relay: one Redis subscription per process, fanned out to every viewer.

Redis is a bus anyone with access can publish on, so a message only says "seq N of this channel
was committed": the relay reads seq N from the channel's table and relays it only if the message
is exactly that stored payload. Messages that arrived together cost one read per channel, per
process, however many viewers share them.
"""
import logging

import sqlalchemy as sa

from orchestrator import metrics
from orchestrator.fragment_cache import SharedFragments
from orchestrator.services import registry
from shared import events
from shared.feeds import ChatFeed, GlobalFeed, NotificationFeed, TournamentFeed
from shared.pubsub import FeedHub, RedisRelay, message_key

log = logging.getLogger(__name__)


def feed_of(channels, engine, channel):
    """The durable feed behind a Redis channel name, or None for a channel we don't relay."""
    if channel == channels.global_announcements:
        return GlobalFeed(engine)
    tournament_id = channels.tournament_id_of(channel)
    if tournament_id:
        return TournamentFeed(engine, tournament_id)
    tournament_id = channels.tournament_id_of(channel, suffix=":chat")
    if tournament_id:
        return ChatFeed(engine, tournament_id)
    prefix, suffix = channels.user_notifications(""), ":notifications"
    prefix = prefix[:-len(suffix)]
    user_id = channel[len(prefix):-len(suffix)] if channel.startswith(prefix) and channel.endswith(suffix) else ""
    if user_id.isdigit() and user_id.isascii():
        return NotificationFeed(engine, int(user_id))
    return None


def stored_payload(channels, engine):
    """record(channel, seqs): {seq: payload} of those seqs the channel's log holds; and
    record.many({channel: seqs}): {(channel, seq): payload} for a whole batch in one statement (one
    round trip and one pool checkout, however many channels the batch touched)."""
    def wanted(channel, seqs):
        feed = feed_of(channels, engine, channel)
        # A made-up seq outside the column's range must not fail the read of the real ones.
        seqs = sorted(seq for seq in seqs if 0 < seq < 2 ** 63)
        if feed is None or not seqs:
            return None
        columns = feed.table.c
        return sa.select(columns.seq, columns.payload).where(*feed.filters, columns.seq.in_(seqs))

    def record(channel, seqs):
        query = wanted(channel, seqs)
        if query is None:
            return {}
        with engine.connect() as conn:
            return dict(conn.execute(query).all())

    def many(by_channel):
        named, parts = [], []
        for channel, seqs in by_channel.items():
            query = wanted(channel, seqs)
            if query is not None:
                parts.append(query.add_columns(sa.literal(len(named)).label("channel_number")))
                named.append(channel)
        if not parts:
            return {}
        with engine.connect() as conn:
            rows = conn.execute(parts[0] if len(parts) == 1 else sa.union_all(*parts)).all()
        return {(named[number], seq): payload for seq, payload, number in rows}

    record.many = many
    return record


def state_changes(channels):
    """wants(channel, event) of the registry's state mirror: a state change on a tournament's
    events channel only; whatever a chat or another channel carries never moves the registry."""
    def wants(channel, event):
        return event["type"] == events.STATE_CHANGED and channels.tournament_id_of(channel) is not None
    return wants


def fragment_changes(channels, fragments):
    """wants(channel, event) of the fragment cache: any event of a tournament it keeps answers of
    (its fragments show the tournament as of a seq)."""
    def wants(channel, _event):
        tournament_id = channels.tournament_id_of(channel)
        return tournament_id is not None and fragments.holds(tournament_id)
    return wants


def init_relay(app, channels):
    """Start this process's relay; it also keeps the registry's state mirror current and tells the
    fragment cache what changed."""
    hub = FeedHub(queue_size=app.config["SSE_QUEUE_SIZE"],
                  record=stored_payload(channels, app.extensions["feed_engine"]), tally=metrics.relay_outcome,
                  signing_key=message_key(app.config["GATEWAY_SECRET"]))

    def mirror(channel, event):
        # Before viewers hear of a state change, the registry already shows it; the hub hands
        # listeners only events read back from the tournament's log.
        with app.app_context():
            registry.mirror_state(channels.tournament_id_of(channel), event["to_state"])

    def resync():
        if "fragment_cache" in app.extensions:  # what was missed meanwhile may change any fragment
            app.extensions["fragment_cache"].reset()
        with app.app_context():
            registry.sync_state_mirrors()

    hub.add_listener(mirror, wants=state_changes(channels))
    relay = RedisRelay(app.config["REDIS_URL"], hub, channels=[channels.global_announcements],
                       patterns=[channels.tournament_events_pattern, channels.tournament_chat_pattern,
                                 channels.user_notifications_pattern],
                       on_connect=resync)
    if app.config["FRAGMENT_CACHE_BYTES"] > 0:  # 0: every fragment request goes to the server
        fragments = SharedFragments(relay.connected.is_set, max_bytes=app.config["FRAGMENT_CACHE_BYTES"],
                                    max_age=app.config["FRAGMENT_CACHE_MAX_AGE"])
        hub.add_listener(lambda channel, event: fragments.note(channels.tournament_id_of(channel), event["seq"]),
                         wants=fragment_changes(channels, fragments))
        app.extensions["fragment_cache"] = fragments
    app.extensions["feed_hub"] = hub
    app.extensions["redis_relay"] = relay
    relay.start()
    return relay
