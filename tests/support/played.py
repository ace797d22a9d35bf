"""Tournaments played out with the aggregate and written straight to the database (registry row
and log), as their server would have left them: for the leaderboard, which reads only ended
tournaments' logs. Playing dozens of tournaments through real servers would take minutes."""
import json
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from shared import events
from shared.db.tables import tournament_events, tournaments
from tests.support.aggregate import registry_row
from tournament_service.engine.matches import OPEN
from tournament_service.engine.routing import playable
from tournament_service.tournament import Tournament


# Every tournament written, so a fixture can remove them (other tests list the run's tournaments).
WRITTEN = []


def delete_written(engine):
    """Remove every tournament written here (registry rows and logs)."""
    with engine.begin() as conn:
        conn.execute(sa.delete(tournament_events).where(tournament_events.c.tournament_id.in_(WRITTEN)))
        conn.execute(sa.delete(tournaments).where(tournaments.c.id.in_(WRITTEN)))
    WRITTEN.clear()


def first_named_wins(name1, name2):
    return name1


class PlayedTournament:
    """One tournament driven through its commands; `write` stores it with its registry row."""

    def __init__(self, game, team_names, format_name="single_elimination", name=None, **options):
        self.id = "t_" + uuid.uuid4().hex[:10]
        self.row = registry_row(max_teams=max(2, len(team_names)), game=game, format=format_name,
                                name=name or f"{game} cup {self.id}", organizer_id=1, options=options)
        self.t = Tournament(self.id)
        self.log = []
        self.run("decide_publish", self.row)
        for number, team in enumerate(team_names):
            self.run("decide_register_team", team, captain=number + 2)

    def run(self, method, *args, **kwargs):
        produced = getattr(self.t, method)(*args, **kwargs)
        for event in produced:
            event["seq"] = self.t.seq + 1
            self.t.apply(event)
            self.log.append(event)
        return produced

    def team_id(self, name):
        return next(t for t, team in self.t.teams.items() if team["name"] == name)

    def name(self, team_id):
        return self.t.teams[team_id]["name"]

    def playable(self):
        """The matches that can be played now, in the order they were made."""
        return [m for m in self.t.matches.values() if m["status"] in OPEN and playable(m)]

    def result(self, match_id, winner_name):
        """The organizer's final result; `winner_name` None is a draw."""
        winner = None if winner_name is None else self.team_id(winner_name)
        return self.run("decide_record_result", match_id, winner)

    def play_out(self, winner_of=first_named_wins, until=None):
        """Every match decided by `winner_of(name1, name2)` (a name, or None for a draw) until the
        tournament completes, or until `until(self)` is true."""
        while self.t.state == "ACTIVE" and not (until and until(self)):
            match = self.playable()[0]
            self.result(match["id"], winner_of(self.name(match["team1_id"]), self.name(match["team2_id"])))
        return self

    def start(self):
        self.run("decide_start")
        return self

    def write(self, engine, state=None):
        """Store the registry row (state: the log's, or `state`) and the log."""
        now = datetime.now(timezone.utc)
        with engine.begin() as conn:
            conn.execute(sa.insert(tournaments).values(
                id=self.id, state=state or self.t.state, created_at=now, updated_at=now,
                **dict(self.row, options=json.dumps(self.row["options"]))))
            conn.execute(sa.insert(tournament_events), [
                {"tournament_id": self.id, "seq": e["seq"], "type": e["type"], "payload": events.encode(e),
                 "created_at": now} for e in self.log])
        WRITTEN.append(self.id)
        return self.id


def play_tournament(engine, game, team_names, winner_of=first_named_wins, format_name="single_elimination",
                    **options):
    """A tournament of `team_names` played to COMPLETED by `winner_of` and written; its id."""
    return PlayedTournament(game, team_names, format_name, **options).start().play_out(winner_of).write(engine)
