"""The tournament's event log in the database: load it all, append a command's events atomically."""
import json
from datetime import datetime, timezone

import sqlalchemy as sa

from shared import events
from shared.db.tables import subscriptions, tournament_events, tournaments
from shared.feeds import append_announcement, append_notifications
from shared.state_machine import REGISTRATION


class WriterConflict(Exception):
    """Another process appended to this tournament's log: we are not its single writer any more."""


class NotPublished(Exception):
    """The registry does not say the tournament is published: its log must not be opened."""


class EventLog:
    def __init__(self, engine, tournament_id):
        self.engine = engine
        self.tournament_id = tournament_id

    def load(self):
        """Every stored event of the tournament, oldest first, as dicts."""
        query = (sa.select(tournament_events.c.payload)
                 .where(tournament_events.c.tournament_id == self.tournament_id)
                 .order_by(tournament_events.c.seq))
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
            for (payload,) in result:
                yield json.loads(payload)

    def subscriber_ids(self):
        """The users subscribed to this tournament (the orchestrator keeps that table)."""
        query = sa.select(subscriptions.c.user_id).where(subscriptions.c.tournament_id == self.tournament_id)
        with self.engine.connect() as conn:
            return [user_id for (user_id,) in conn.execute(query)]

    def registry_row(self):
        """The tournament's registry entry, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(tournaments).where(tournaments.c.id == self.tournament_id)).first()
        if row is None:
            return None
        values = dict(row._mapping)
        values["options"] = json.loads(values.get("options") or "{}")
        return values

    def append(self, after_seq, new_events, announcements=(), notifications=(), request_id=None):
        """Store `new_events` as seq after_seq+1.., the announcements and the notifications
        ([(user_id, event)]) in one transaction; each event's row records `request_id`, the
        request that caused them (None: no request did).

        Returns ([(seq, text)] of the events, [(seq, text)] of the announcements,
        [(user_id, seq, text)] of the notifications).
        :raise WriterConflict: when one of those seqs is already taken.
        """
        now = datetime.now(timezone.utc)
        stored, announced = [], []
        rows = []
        for offset, event in enumerate(new_events, start=1):
            event["seq"] = after_seq + offset
            text = events.encode(event)
            stored.append((event["seq"], text))
            rows.append({"tournament_id": self.tournament_id, "seq": event["seq"], "type": event["type"],
                         "payload": text, "created_at": now, "request_id": request_id})
        try:
            with self.engine.begin() as conn:
                if after_seq == 0:
                    self._check_published(conn)
                conn.execute(sa.insert(tournament_events), rows)
                for announcement in announcements:
                    announced.append(append_announcement(conn, announcement))
                notified = append_notifications(conn, notifications)
        except sa.exc.IntegrityError as exc:
            for event in new_events:
                event.pop("seq", None)
            raise WriterConflict(str(exc.orig)) from None
        return stored, announced, notified

    def _check_published(self, conn):
        """:raise NotPublished: unless the registry says REGISTRATION, holding its row until commit.

        A failed publish returns the tournament to DRAFT and removes what its server wrote in one
        transaction under that row's lock, so the log's first events either commit before it (and
        are removed) or see DRAFT and are never written: a DRAFT has no log.
        """
        state = conn.execute(sa.select(tournaments.c.state).where(tournaments.c.id == self.tournament_id)
                             .with_for_update(read=True)).scalar()
        if state != REGISTRATION:
            raise NotPublished(f"tournament {self.tournament_id!r} is {state or 'not in the registry'}, not published")
