"""The tournament aggregate: its state is the fold of its event log; commands decide new events.

`decide_*` methods check a command against the current state and return the events it produces,
without changing anything; `apply` folds one stored event into the state. The server commits the
events first and applies them after, so memory never runs ahead of the log.
"""
from datetime import datetime, timedelta, timezone

from shared import events
from shared.state_machine import CANCELLED, DRAFT, REGISTRATION, allowed_actions, check, next_state
from tournament_service.engine import single_elimination as bracket_engine


REMINDER_LEAD = timedelta(minutes=5)


class DomainError(Exception):
    """A command the tournament refuses: `status` is the HTTP status it maps to."""

    def __init__(self, status, code, message, fields=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields


def not_found(kind, ident):
    return DomainError(404, f"{kind}_not_found", f"No {kind} {ident!r} in this tournament.")


class Tournament:
    """One tournament's state: configuration, teams, rounds of matches, champion."""

    def __init__(self, tournament_id):
        self.id = tournament_id
        self.state = DRAFT
        self.name = None
        self.config = {}
        self.teams = {}  # team id -> team dict, in registration order
        self.teams_registered = 0  # ever; team ids are never reused
        self.seeded_team_ids = []  # fixed at start: best seed first
        self.rounds = []  # rounds[k] is round k+1's list of match dicts
        self.matches = {}  # match id -> the same match dicts
        self.champion = None
        self.reminded = False
        self.seq = 0

    # ---- folding the log -------------------------------------------------------------------

    def apply(self, event):
        """Fold one stored event into the state."""
        handler = getattr(self, "_on_" + event["type"], None)
        if handler is not None:
            handler(event)
        self.seq = event["seq"]

    def _on_tournament_published(self, event):
        self.name = event["name"]
        self.config = event["config"]

    def _on_state_changed(self, event):
        self.state = event["to_state"]

    def _on_team_registered(self, event):
        team = event["team"]
        self.teams[team["id"]] = dict(team)
        self.teams_registered += 1

    def _on_team_unregistered(self, event):
        self.teams.pop(event["team_id"], None)

    def _on_round_advanced(self, event):
        if event["new_round"] == 1:
            self.seeded_team_ids = list(event["seeding"])
            for seed, team_id in enumerate(self.seeded_team_ids, start=1):
                self.teams[team_id]["seed"] = seed
        matches = [dict(match) for match in event["matches"]]
        self.rounds.append(matches)
        self.matches.update((match["id"], match) for match in matches)

    def _on_match_result(self, event):
        match = self.matches[event["match_id"]]
        match.update(status=bracket_engine.COMPLETED, winner=event["winner"], scores=event.get("scores"))

    def _on_tournament_starting(self, event):
        self.reminded = True

    def _on_tournament_completed(self, event):
        self.champion = event["champion"]

    # ---- reading ---------------------------------------------------------------------------

    @property
    def current_round(self):
        return len(self.rounds)

    def team_list(self):
        return [dict(team) for team in self.teams.values()]

    def match(self, match_id):
        """:raise DomainError 404: for an unknown match."""
        try:
            return self.matches[match_id]
        except KeyError:
            raise not_found("match", match_id) from None

    def match_list(self, round_no=None, status=None):
        if round_no is None and status is None:
            # "Current matches": the round being played, or the last one played.
            selected = self.rounds[-1] if self.rounds else []
        else:
            selected = [m for matches in self.rounds for m in matches]
        return [dict(m) for m in selected
                if (round_no is None or m["round"] == round_no) and (status is None or m["status"] == status)]

    def standings(self):
        if not self.seeded_team_ids:
            ordered = self._seeding()
            return [{"rank": 1, "team_id": t, "name": self.teams[t]["name"], "seed": i, "wins": 0,
                     "losses": 0, "eliminated": False, "round_reached": 0}
                    for i, t in enumerate(ordered, start=1)]
        rows = bracket_engine.standings(self.seeded_team_ids, self.rounds, self.champion)
        for row in rows:
            row["name"] = self.teams[row["team_id"]]["name"]
        return rows

    def bracket(self):
        return bracket_engine.bracket(len(self.seeded_team_ids), self.rounds)

    def summary(self):
        return {
            "tournament_id": self.id, "name": self.name, "state": self.state, "round": self.current_round,
            "allowed_actions": allowed_actions(self.state), "format": self.config.get("format"),
            "teams_count": len(self.teams), "min_teams": self.config.get("min_teams"),
            "max_teams": self.config.get("max_teams"), "champion": self.champion, "seq": self.seq,
        }

    # ---- deciding --------------------------------------------------------------------------

    def _event(self, event_type, **fields):
        return events.make_event(event_type, self.id, **fields)

    def _state_change(self, action):
        return self._event(events.STATE_CHANGED, from_state=self.state,
                           to_state=next_state(action, self.state), action=action)

    def decide_publish(self, registry_row):
        """The genesis of the log: the configuration as published, and REGISTRATION opens."""
        check("publish", self.state)
        config = {key: registry_row[key] for key in
                  ("game", "format", "max_teams", "min_teams", "best_of", "description")}
        starts_at = registry_row.get("starts_at")
        if starts_at is not None and starts_at.tzinfo is None:  # SQLite returns naive UTC
            starts_at = starts_at.replace(tzinfo=timezone.utc)
        config["starts_at"] = starts_at.isoformat() if starts_at is not None else None
        return [self._event(events.TOURNAMENT_PUBLISHED, name=registry_row["name"], config=config),
                self._event(events.STATE_CHANGED, from_state=DRAFT, to_state=REGISTRATION, action="publish")]

    def decide_register_team(self, name, seed=None, players=None, captain=None):
        check("register_team", self.state)
        folded = name.casefold()
        if any(team["name"].casefold() == folded for team in self.teams.values()):
            raise DomainError(409, "team_name_taken", f"A team named {name!r} is already registered.",
                              {"name": "is already taken in this tournament"})
        if len(self.teams) >= self.config["max_teams"]:
            raise DomainError(409, "tournament_full",
                              f"The tournament is full: {self.config['max_teams']} teams registered.")
        if seed is not None:
            if seed > self.config["max_teams"]:
                raise DomainError(400, "invalid_input", "The request has invalid fields.",
                                  {"seed": f"must be at most {self.config['max_teams']}"})
            if any(team["seed"] == seed for team in self.teams.values()):
                raise DomainError(409, "seed_taken", f"Seed {seed} is already given to another team.",
                                  {"seed": "is already taken"})
        team = {"id": f"team_{self.teams_registered + 1}", "name": name, "seed": seed,
                "captain": captain, "players": list(players or [])}
        return [self._event(events.TEAM_REGISTERED, team=team)]

    def decide_unregister(self, team_id):
        check("unregister", self.state)
        if team_id not in self.teams:
            raise not_found("team", team_id)
        return [self._event(events.TEAM_UNREGISTERED, team_id=team_id, name=self.teams[team_id]["name"])]

    def _seeding(self):
        """Team ids best seed first: a given seed keeps its place; the rest fill in by registration.

        Seeds beyond the field (seed 8 of 6 teams) take the free places first, in seed order.
        """
        count = len(self.teams)
        slots = [None] * count
        rest = []
        for team in sorted(self.teams.values(), key=lambda t: (t["seed"] is None, t["seed"] or 0)):
            if team["seed"] is not None and team["seed"] <= count:
                slots[team["seed"] - 1] = team["id"]
            else:
                rest.append(team["id"])  # over-range seeds first, then registration order
        fill = iter(rest)
        return [slot if slot is not None else next(fill) for slot in slots]

    def decide_start(self):
        check("start", self.state)
        needed = max(2, self.config["min_teams"])
        if len(self.teams) < needed:
            raise DomainError(409, "not_enough_teams",
                              f"Can't start with {len(self.teams)} teams: at least {needed} are needed.")
        seeding = self._seeding()
        matches = bracket_engine.first_round(seeding)
        return [self._state_change("start"),
                self._event(events.ROUND_ADVANCED, new_round=1, matches_count=len(matches),
                            matches=matches, seeding=seeding)]

    def decide_record_result(self, match_id, winner, scores=None):
        check("record_result", self.state)
        match = self.match(match_id)
        if match["status"] != bracket_engine.PENDING or match["round"] != self.current_round:
            raise DomainError(409, "match_not_pending",
                              f"Can't record a result for match {match_id}: it is {match['status']}.")
        if winner not in (match["team1_id"], match["team2_id"]):
            raise DomainError(400, "invalid_input", "The winner must be one of the match's two teams.",
                              {"winner": f"must be {match['team1_id']} or {match['team2_id']}"})
        if scores is not None:
            mine, theirs = scores if winner == match["team1_id"] else scores[::-1]
            if mine <= theirs:
                raise DomainError(400, "invalid_input", "The scores must favour the winner.",
                                  {"scores": "the winner's score must be the higher one"})
        produced = [self._event(events.MATCH_RESULT, match_id=match_id, winner=winner, round=match["round"],
                                team1_id=match["team1_id"], team2_id=match["team2_id"], scores=scores)]
        current = self.rounds[-1]
        if any(m["status"] not in bracket_engine.DECIDED for m in current if m["id"] != match_id):
            return produced
        winners = [winner if m["id"] == match_id else m["winner"] for m in current]
        if len(winners) == 1:
            return produced + [self._state_change("complete"),
                               self._event(events.TOURNAMENT_COMPLETED, champion=winner,
                                           champion_name=self.teams[winner]["name"])]
        matches = bracket_engine.next_round(self.current_round + 1, winners)
        return produced + [self._event(events.ROUND_ADVANCED, new_round=self.current_round + 1,
                                       matches_count=len(matches), matches=matches)]

    def reminder_due_at(self):
        """When the 5-minute reminder is due, or None when there is none to send."""
        starts_at = self.config.get("starts_at")
        if self.reminded or self.state != REGISTRATION or not starts_at:
            return None
        return datetime.fromisoformat(starts_at) - REMINDER_LEAD

    def decide_reminder(self, now):
        """The reminder, if it is still to be sent: due, and the tournament has not begun."""
        due = self.reminder_due_at()
        if due is None or now < due or now >= due + REMINDER_LEAD:
            return []
        return [self._event(events.TOURNAMENT_STARTING, tournament_name=self.name, starts_in_minutes=5,
                            starts_at=self.config["starts_at"])]

    def decide_cancel(self):
        return [self._state_change("cancel")]

    def decide_archive(self):
        return [self._state_change("archive")]


def announcement_for(tournament_id, name, config, event):
    """The global announcement an event of this tournament makes, if any."""
    if event["type"] == events.STATE_CHANGED and event["to_state"] == REGISTRATION:
        return events.make_event(events.TOURNAMENT_ANNOUNCED, tournament_id, tournament_name=name,
                                 game=config.get("game"), format=config.get("format"))
    if event["type"] == events.TOURNAMENT_COMPLETED:
        return events.make_event(events.CHAMPION_ANNOUNCED, tournament_id, tournament_name=name,
                                 champion=event["champion"], champion_name=event["champion_name"])
    if event["type"] == events.STATE_CHANGED and event["to_state"] == CANCELLED:
        return events.make_event(events.TOURNAMENT_CANCELLED, tournament_id, tournament_name=name)
    return None
