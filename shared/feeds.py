"""The durable side of every channel: reading a feed back from the database by `seq`.

Redis only carries events live; a viewer that reconnects, or a relay that noticed a gap, reads what
it missed from here.
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from shared import events
from shared.db.tables import GLOBAL_SEQUENCE, announcements, channel_sequences, notifications, tournament_events

REPLAY_BATCH = 500


class Feed:
    """One channel's durable history: the rows of `table` that `filters` select, by seq."""

    def __init__(self, engine, table, *filters):
        self.engine = engine
        self.table = table
        self.filters = filters

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


class TournamentFeed(Feed):
    """`tournament:{id}:events`, backed by that tournament's event log."""

    def __init__(self, engine, tournament_id):
        super().__init__(engine, tournament_events, tournament_events.c.tournament_id == tournament_id)


class GlobalFeed(Feed):
    """`global:announcements`, backed by the announcements table."""

    def __init__(self, engine):
        super().__init__(engine, announcements)


class NotificationFeed(Feed):
    """`user:{id}:notifications`, backed by the notifications table."""

    def __init__(self, engine, user_id):
        super().__init__(engine, notifications, notifications.c.user_id == user_id)


def _next_seq(conn, channel):
    """The next seq of `channel`; its counter row stays locked until the caller's transaction ends.

    One upsert creates the counter at 1 or bumps it, atomically, on PostgreSQL and SQLite alike.
    """
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(channel_sequences).values(channel=channel, last_seq=1)
    statement = statement.on_conflict_do_update(
        index_elements=[channel_sequences.c.channel],
        set_={"last_seq": channel_sequences.c.last_seq + 1},
    ).returning(channel_sequences.c.last_seq)
    return conn.execute(statement).scalar_one()


def append_notification(conn, user_id, event):
    """Store `event` for `user_id` inside the caller's transaction; return (seq, JSON text)."""
    seq = _next_seq(conn, f"user:{user_id}")
    event = dict(event, seq=seq)
    text = events.encode(event)
    conn.execute(sa.insert(notifications).values(
        user_id=user_id, seq=seq, type=event["type"], tournament_id=event.get("tournament_id"),
        payload=text, created_at=datetime.now(timezone.utc)))
    return seq, text


def append_announcement(conn, event):
    """Store `event` on the global feed inside the caller's transaction; return its JSON text.

    The counter row stays locked until the caller commits, so announcements from different
    processes commit in seq order and a viewer resuming after seq N can't miss a smaller one.
    """
    seq = _next_seq(conn, GLOBAL_SEQUENCE)
    event = dict(event, seq=seq)
    text = events.encode(event)
    conn.execute(sa.insert(announcements).values(
        seq=seq, type=event["type"], tournament_id=event.get("tournament_id"), payload=text,
        created_at=datetime.now(timezone.utc)))
    return seq, text
