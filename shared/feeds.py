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


class TournamentFeed:
    """`tournament:{id}:events`, backed by that tournament's event log."""

    def __init__(self, engine, tournament_id):
        self.engine = engine
        self.tournament_id = tournament_id

    def head(self):
        """The newest seq in the log (0 when empty)."""
        query = sa.select(sa.func.max(tournament_events.c.seq)).where(
            tournament_events.c.tournament_id == self.tournament_id)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar() or 0

    def read_after(self, seq, until=None, limit=REPLAY_BATCH):
        """[(seq, type, payload)] with seq in (seq, until], oldest first, at most `limit`."""
        table = tournament_events.c
        query = (sa.select(table.seq, table.type, table.payload)
                 .where(table.tournament_id == self.tournament_id, table.seq > seq)
                 .order_by(table.seq).limit(limit))
        if until is not None:
            query = query.where(table.seq <= until)
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(query)]


class GlobalFeed:
    """`global:announcements`, backed by the announcements table."""

    def __init__(self, engine):
        self.engine = engine

    def head(self):
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(announcements.c.seq))).scalar() or 0

    def read_after(self, seq, until=None, limit=REPLAY_BATCH):
        table = announcements.c
        query = (sa.select(table.seq, table.type, table.payload)
                 .where(table.seq > seq).order_by(table.seq).limit(limit))
        if until is not None:
            query = query.where(table.seq <= until)
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(query)]


class NotificationFeed:
    """`user:{id}:notifications`, backed by the notifications table."""

    def __init__(self, engine, user_id):
        self.engine = engine
        self.user_id = user_id

    def head(self):
        query = sa.select(sa.func.max(notifications.c.seq)).where(notifications.c.user_id == self.user_id)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar() or 0

    def read_after(self, seq, until=None, limit=REPLAY_BATCH):
        table = notifications.c
        query = (sa.select(table.seq, table.type, table.payload)
                 .where(table.user_id == self.user_id, table.seq > seq).order_by(table.seq).limit(limit))
        if until is not None:
            query = query.where(table.seq <= until)
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(query)]


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
