"""Big events for a tournament server on its own: a registered field written straight into the log,
and a poller that records when a server answered."""
import json
import threading
import time
import uuid
from datetime import datetime, timezone

import requests
import sqlalchemy as sa

from shared import events
from shared.db.tables import tournament_events, tournaments
from tests.support.aggregate import registry_row
from tournament_service.tournament import Tournament

ORGANIZER = {"id": 1, "username": "organizer"}


def write_registered_tournament(engine, format_name, teams, captain=lambda number: number + 2, **options):
    """A published tournament in REGISTRATION with `teams` teams, as if they had registered: its
    registry row and its log (publication, then one `team_registered` per team, team k captained
    by user `captain(k)`), written straight to the database. Registering thousands of teams over
    HTTP would take minutes. Returns (tournament id, the log's last seq)."""
    tournament_id = "t_" + uuid.uuid4().hex[:10]
    row = registry_row(max_teams=teams, name=f"Big {format_name}", format=format_name,
                       organizer_id=ORGANIZER["id"], options=options)
    now = datetime.now(timezone.utc)
    t = Tournament(tournament_id)
    stored = []

    def store(produced):
        for event in produced:
            event["seq"] = t.seq + 1
            t.apply(event)
            stored.append({"tournament_id": tournament_id, "seq": event["seq"], "type": event["type"],
                           "payload": events.encode(event), "created_at": now})
    store(t.decide_publish(row))
    for number in range(teams):
        store(t.decide_register_team(f"Team {number + 1}", captain=captain(number)))
    with engine.begin() as conn:
        conn.execute(sa.insert(tournaments).values(id=tournament_id, state="REGISTRATION", created_at=now,
                                                   updated_at=now, **dict(row, options=json.dumps(options))))
        conn.execute(sa.insert(tournament_events), stored)
    return tournament_id, t.seq


class Poller(threading.Thread):
    """GETs `url` again and again (`timeout` each), keeping when each 200 came and the failures."""

    def __init__(self, url, timeout=1.0):
        super().__init__(daemon=True)
        self.url, self.timeout = url, timeout
        self.answers, self.failures = [], 0
        self.stopping = threading.Event()

    def run(self):
        with requests.Session() as session:
            while not self.stopping.is_set():
                try:
                    if session.get(self.url, timeout=self.timeout).status_code == 200:
                        self.answers.append(time.monotonic())
                    else:
                        self.failures += 1
                except requests.RequestException:
                    self.failures += 1
                time.sleep(0.01)

    def stop(self):
        self.stopping.set()
        self.join(timeout=10)

    def longest_gap(self, since, until):
        """The longest time in [since, until] without an answer, in seconds."""
        times = [since] + [t for t in self.answers if since < t < until] + [until]
        return max(b - a for a, b in zip(times, times[1:]))
