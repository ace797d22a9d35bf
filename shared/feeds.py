"""The durable side of every channel: reading a feed back from the database by `seq`.

Redis only carries events live; a viewer that reconnects, or a relay that noticed a gap, reads what
it missed from here.
"""
from collections import Counter
from datetime import datetime, timezone
from functools import cached_property

import sqlalchemy as sa

from shared import events
from shared.db.engine import upsert_insert
from shared.db.tables import (GLOBAL_SEQUENCE, announcements, channel_sequences, chat_messages, notifications,
                              tournament_events)

REPLAY_BATCH = 500
# Rows per statement when writing notifications: a few milliseconds of Python between two waits
# on the database, in which (under gevent) other greenlets run.
NOTIFICATION_BATCH = 500


class Feed:
    """One channel's durable history: the rows of `table` whose `owner_column` is `owner` (all
    of its rows without one), by seq."""

    def __init__(self, engine, table, owner_column=None, owner=None):
        self.engine = engine
        self.table = table
        self._owner = (owner_column, owner)

    @cached_property
    def filters(self):
        """The WHERE clauses of the channel's rows. Built at the first read, not with the feed: a
        crowd of viewers connecting at once makes a feed each, and one of them reads for all
        (shared/crowd.py); building the clause was a quarter of a feed request's view."""
        column, owner = self._owner
        return () if column is None else (self.table.c[column] == owner,)

    def head(self):
        """The newest seq on the channel (0 when empty)."""
        query = sa.select(sa.func.max(self.table.c.seq)).where(*self.filters)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar() or 0

    def read_after(self, seq, until=None, limit=REPLAY_BATCH):
        """[(seq, type, payload)] with seq in (seq, until], oldest first, at most `limit`."""
        columns = self.table.c
        query = (sa.select(columns.seq, columns.type, columns.payload)
                 .where(*self.filters, columns.seq > seq).order_by(columns.seq).limit(limit))
        if until is not None:
            query = query.where(columns.seq <= until)
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(query)]

    def read_frames(self, seq, until=None):
        """[(seq, SSE frame)] of the events in (seq, until], oldest first, at most REPLAY_BATCH."""
        return [(row_seq, events.sse_frame(row_seq, event_type, payload))
                for row_seq, event_type, payload in self.read_after(seq, until=until)]


class TournamentFeed(Feed):
    """`tournament:{id}:events`, backed by that tournament's event log."""

    def __init__(self, engine, tournament_id):
        super().__init__(engine, tournament_events, "tournament_id", tournament_id)


class GlobalFeed(Feed):
    """`global:announcements`, backed by the announcements table."""

    def __init__(self, engine):
        super().__init__(engine, announcements)


class NotificationFeed(Feed):
    """`user:{id}:notifications`, backed by the notifications table."""

    def __init__(self, engine, user_id):
        super().__init__(engine, notifications, "user_id", user_id)


class ChatFeed(Feed):
    """`tournament:{id}:chat`, backed by that tournament's rows of chat_messages."""

    def __init__(self, engine, tournament_id):
        super().__init__(engine, chat_messages, "tournament_id", tournament_id)


def chat_sequence(tournament_id):
    """The counter (channel_sequences) a tournament's chat takes its seqs from."""
    return f"chat:{tournament_id}"


def _take_seqs(conn, wanted):
    """{channel: first seq} after reserving `wanted[channel]` seqs on each channel.

    One upsert, compiled once, sent as multi-row statements of `NOTIFICATION_BATCH` channels
    (SQLAlchemy's executemany with RETURNING). The counter rows stay locked until the caller's
    transaction ends; they are locked in channel order, so two writers sharing channels wait for
    each other and never deadlock.
    """
    statement = upsert_insert(conn.dialect, channel_sequences)
    statement = statement.on_conflict_do_update(
        index_elements=[channel_sequences.c.channel],
        set_={"last_seq": channel_sequences.c.last_seq + statement.excluded.last_seq},
    ).returning(channel_sequences.c.channel, channel_sequences.c.last_seq)
    rows = [{"channel": channel, "last_seq": wanted[channel]} for channel in sorted(wanted)]
    first = {}
    for start in range(0, len(rows), NOTIFICATION_BATCH):
        for channel, last in conn.execute(statement, rows[start:start + NOTIFICATION_BATCH]):
            first[channel] = last - wanted[channel] + 1
    return first


def append_notifications(conn, notices):
    """Store [(user_id, event)] inside the caller's transaction: each user's get consecutive seqs
    in the order given. One upsert of the users' counters, then multi-row inserts of
    `NOTIFICATION_BATCH` rows, so thousands of `match_ready` cost a few round trips, not thousands;
    under gevent, other greenlets run while each batch is in flight.

    Returns [(user_id, seq, JSON text)] in the order given.
    """
    if not notices:
        return []
    wanted = Counter(f"user:{user_id}" for user_id, _event in notices)
    next_seq = _take_seqs(conn, wanted)
    now = datetime.now(timezone.utc)
    stored = []
    for start in range(0, len(notices), NOTIFICATION_BATCH):
        rows = []
        for user_id, event in notices[start:start + NOTIFICATION_BATCH]:
            channel = f"user:{user_id}"
            seq = next_seq[channel]
            next_seq[channel] = seq + 1
            text = events.encode(dict(event, seq=seq))
            rows.append({"user_id": user_id, "seq": seq, "type": event["type"],
                         "tournament_id": event.get("tournament_id"), "payload": text, "created_at": now})
            stored.append((user_id, seq, text))
        conn.execute(sa.insert(notifications), rows)
    return stored


def append_announcement(conn, event):
    """Store `event` on the global feed inside the caller's transaction; return its JSON text.

    The counter row stays locked until the caller commits, so announcements from different
    processes commit in seq order and a viewer resuming after seq N can't miss a smaller one.
    """
    seq = _take_seqs(conn, {GLOBAL_SEQUENCE: 1})[GLOBAL_SEQUENCE]
    event = dict(event, seq=seq)
    text = events.encode(event)
    conn.execute(sa.insert(announcements).values(
        seq=seq, type=event["type"], tournament_id=event.get("tournament_id"), payload=text,
        created_at=datetime.now(timezone.utc)))
    return seq, text


def append_chat(conn, event, author_id, author_name, body=None):
    """Store a chat event (`event["tournament_id"]`'s chat) inside the caller's transaction;
    return (seq, JSON text). As with announcements, the counter row stays locked until the
    caller commits, so a tournament's chat commits in seq order."""
    tournament_id = event["tournament_id"]
    seq = _take_seqs(conn, {chat_sequence(tournament_id): 1})[chat_sequence(tournament_id)]
    event = dict(event, seq=seq)
    text = events.encode(event)
    conn.execute(sa.insert(chat_messages).values(
        tournament_id=tournament_id, seq=seq, type=event["type"], author_id=author_id,
        author_name=author_name, body=body, payload=text, created_at=datetime.now(timezone.utc)))
    return seq, text
