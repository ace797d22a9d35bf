"""The durable side of every channel: reading a feed back from the database by `seq`.

Redis only carries events live; a viewer that reconnects, or a relay that noticed a gap, reads what
it missed from here.
"""
from datetime import datetime, timezone

import sqlalchemy as sa

from shared import events
from shared.db.tables import GLOBAL_SEQUENCE, announcements, channel_sequences, tournament_events

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


def append_announcement(conn, event):
    """Store `event` on the global feed inside the caller's transaction; return its JSON text.

    The counter row stays locked until the caller commits, so announcements from different
    processes commit in seq order and a viewer resuming after seq N can't miss a smaller one.
    """
    seq = conn.execute(
        sa.update(channel_sequences)
        .where(channel_sequences.c.channel == GLOBAL_SEQUENCE)
        .values(last_seq=channel_sequences.c.last_seq + 1)
        .returning(channel_sequences.c.last_seq)
    ).scalar_one()
    event = dict(event, seq=seq)
    text = events.encode(event)
    conn.execute(sa.insert(announcements).values(
        seq=seq, type=event["type"], tournament_id=event.get("tournament_id"), payload=text,
        created_at=datetime.now(timezone.utc)))
    return seq, text
