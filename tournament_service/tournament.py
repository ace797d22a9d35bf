"""The tournament aggregate: its state is the fold of its event log; commands decide new events.

`decide_*` methods check a command against the current state and return the events it produces,
without changing anything; `apply` folds one stored event into the state. The server commits the
events first and applies them after, so memory never runs ahead of the log.

The format (see `engine.formats`) is only asked while deciding. Every event that makes or changes
matches carries those matches in full (`matches`), so folding the log never runs format code: a
replay gives back exactly what was decided, whatever version of the engine decided it.
"""
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

from shared import events
from shared import formats as format_options
from shared.state_machine import CANCELLED, DRAFT, REGISTRATION, allowed_actions, check, next_state
from tournament_service.engine import formats
from tournament_service.engine.matches import COMPLETED, DECIDED, DISPUTED, OPEN, REPORTED, Overlay
from tournament_service.engine.routing import playable

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


def invalid(field, problem, message="The request has invalid fields."):
    return DomainError(400, "invalid_input", message, {field: problem})


class Tournament:
    """One tournament's state: configuration, teams, matches, champion."""

    def __init__(self, tournament_id):
        self.id = tournament_id
        self.state = DRAFT
        self.name = None
        self.config = {}
        self.teams = {}  # team id -> team dict, in registration order
        self.teams_registered = 0  # ever; team ids are never reused
        self.seeded_team_ids = []  # fixed at start: best seed first
        self.matches = {}  # match id -> match dict, in the order they were made
        # The open matches (pending, reported, disputed) and how many per round, kept as the log is
        # folded, so a result costs what it changes and not a walk over every match.
        self.open_ids = set()
        self.open_rounds = defaultdict(set)  # round -> ids of its open matches
        self.round = 0  # the round being played (the last round_advanced)
        self.checked_in = set()
        self.withdrawn = set()  # dropped or disqualified: never paired again, forfeit what is left
        self.disqualified = set()  # listed last in the standings
        self.champion = None
        self.reminded = False
        self.seq = 0
        self._format = None
        self._positions = None

    # ---- folding the log -------------------------------------------------------------------

    def apply(self, event):
        """Fold one stored event into the state."""
        for match in event.get("matches") or ():
            self._put(dict(match))
        handler = getattr(self, "_on_" + event["type"], None)
        if handler is not None:
            handler(event)
        self.seq = event["seq"]

    def _put(self, match):
        old = self.matches.get(match["id"])
        if old is not None and old["status"] in OPEN:
            self.open_ids.discard(old["id"])
            self.open_rounds[self.format.round_of(old)].discard(old["id"])
        if match["status"] in OPEN:
            self.open_ids.add(match["id"])
            self.open_rounds[self.format.round_of(match)].add(match["id"])
        self.matches[match["id"]] = match

    def _on_tournament_published(self, event):
        self.name = event["name"]
        self.config = event["config"]
        self._format = None

    def _on_state_changed(self, event):
        self.state = event["to_state"]

    def _on_team_registered(self, event):
        team = event["team"]
        self.teams[team["id"]] = dict(team)
        self.teams_registered += 1

    def _on_team_unregistered(self, event):
        self.teams.pop(event["team_id"], None)
        self.checked_in.discard(event["team_id"])

    def _on_team_checked_in(self, event):
        self.checked_in.add(event["team_id"])

    def _on_team_disqualified(self, event):
        self.withdrawn.add(event["team_id"])
        self.disqualified.add(event["team_id"])
        self.teams[event["team_id"]]["disqualified"] = True

    def _on_team_dropped(self, event):
        self.withdrawn.add(event["team_id"])
        self.teams[event["team_id"]]["dropped"] = True

    def _on_round_advanced(self, event):
        self.round = event["new_round"]
        if "seeding" in event:
            self.seeded_team_ids = list(event["seeding"])
            for seed, team_id in enumerate(self.seeded_team_ids, start=1):
                self.teams[team_id]["seed"] = seed

    def _on_tournament_starting(self, event):
        self.reminded = True

    def _on_tournament_completed(self, event):
        self.champion = event["champion"]

    # ---- reading ---------------------------------------------------------------------------

    @property
    def options(self):
        return self.config.get("options") or format_options.with_defaults(self.config.get("format"), {})

    @property
    def format(self):
        if self._format is None:
            self._format = formats.for_tournament(self.config["format"], self.options)
        return self._format

    @property
    def current_round(self):
        return self.round

    def _play(self, matches=None, withdrawn=None):
        return formats.Play(self.seeded_team_ids, self.matches if matches is None else matches,
                            frozenset(self.withdrawn if withdrawn is None else withdrawn))

    def team_list(self):
        return [dict(team, checked_in=team_id in self.checked_in) if self.options.get("check_in") else dict(team)
                for team_id, team in self.teams.items()]

    def match(self, match_id):
        """:raise DomainError 404: for an unknown match."""
        try:
            return self.matches[match_id]
        except KeyError:
            raise not_found("match", match_id) from None

    def match_list(self, round_no=None, status=None):
        """Without filters, the current matches: those that can be played now (or await a
        confirmation or the organizer's decision). With filters, every match that passes them."""
        if round_no is None and status is None:
            return [dict(m) for m in self._open_matches(self.matches) if playable(m)]
        return [dict(m) for m in self.matches.values()
                if (round_no is None or m["round"] == round_no) and (status is None or m["status"] == status)]

    def standings(self):
        if not self.seeded_team_ids:
            ordered = self._seeding()
            return [{"rank": 1, "team_id": t, "name": self.teams[t]["name"], "seed": i, "wins": 0,
                     "losses": 0, "eliminated": False}
                    for i, t in enumerate(ordered, start=1)]
        rows = _disqualified_last(self.format.standings(self._play()), self.disqualified)
        for row in rows:
            row["name"] = self.teams[row["team_id"]]["name"]
            row["disqualified"] = row["team_id"] in self.disqualified
            row["dropped"] = row["team_id"] in self.withdrawn - self.disqualified
        return rows

    def group_standings(self):
        """group_playoff: {group label: that group's own table}, named; {} for other formats and
        before the start (the overall standings count playoff wins, not the group's)."""
        if not self.seeded_team_ids or not hasattr(self.format, "group_tables"):
            return {}
        tables = self.format.group_tables(self._play())
        return {label: [dict(row, name=self.teams[row["team_id"]]["name"]) for row in rows]
                for label, rows in tables.items()}

    def standings_rules(self):
        """What the standings were ranked by, for a table's header."""
        options = self.options
        if "points" not in options:
            return {"ranked_by": "round_reached"}
        return {"ranked_by": "points", "points": options["points"], "tiebreaks": options["tiebreaks"]}

    def bracket(self):
        if not self.seeded_team_ids:
            return {"format": self.config.get("format"), "sections": []}
        return self.format.bracket(self._play())

    def summary(self):
        return {
            "tournament_id": self.id, "name": self.name, "state": self.state, "round": self.current_round,
            "allowed_actions": allowed_actions(self.state), "format": self.config.get("format"),
            "options": self.options if self.config else {},
            "teams_count": len(self.teams), "min_teams": self.config.get("min_teams"),
            "max_teams": self.config.get("max_teams"), "best_of": self.config.get("best_of"),
            "champion": self.champion, "seq": self.seq,
        }

    # ---- deciding: registration --------------------------------------------------------------

    def _event(self, event_type, **fields):
        return events.make_event(event_type, self.id, **fields)

    def _state_change(self, action):
        return self._event(events.STATE_CHANGED, from_state=self.state,
                           to_state=next_state(action, self.state), action=action)

    def decide_publish(self, registry_row):
        """The genesis of the log: the configuration as published (every option filled in, so a
        later change of a default never changes this tournament), and REGISTRATION opens."""
        check("publish", self.state)
        config = {key: registry_row[key] for key in
                  ("game", "format", "max_teams", "min_teams", "best_of", "description")}
        config["options"] = format_options.with_defaults(registry_row["format"], registry_row.get("options"))
        config["organizer_id"] = registry_row.get("organizer_id")
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
        # One user, one team: a captain of both sides of a match would decide it alone.
        held = next((t for t in self.teams.values() if captain is not None and t.get("captain") == captain), None)
        if held is not None:
            raise DomainError(409, "already_captain",
                              f"User {captain} already captains {held['name']!r} ({held['id']}) in this tournament; "
                              "a user captains at most one team.", {"captain": f"already captains {held['id']}"})
        if len(self.teams) >= self.config["max_teams"]:
            raise DomainError(409, "tournament_full",
                              f"The tournament is full: {self.config['max_teams']} teams registered.")
        if seed is not None:
            if seed > self.config["max_teams"]:
                raise invalid("seed", f"must be at most {self.config['max_teams']}")
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

    def decide_check_in(self, team_id):
        """A captain confirms the team will play; [] when it already has."""
        check("check_in", self.state)
        if team_id not in self.teams:
            raise not_found("team", team_id)
        if not self.options.get("check_in"):
            raise DomainError(409, "check_in_not_required", "This tournament does not use check-in.")
        if team_id in self.checked_in:
            return []
        return [self._event(events.TEAM_CHECKED_IN, team_id=team_id, name=self.teams[team_id]["name"])]

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
        """ACTIVE, with the matches of the format built. With check-in, teams that did not check
        in are removed first and the seeds close up."""
        check("start", self.state)
        absent = [t for t in self.teams if t not in self.checked_in] if self.options.get("check_in") else []
        seeding = [t for t in self._seeding() if t not in absent]
        needed = max(2, self.config["min_teams"])
        if len(seeding) < needed:
            detail = f" ({len(absent)} did not check in)" if absent else ""
            raise DomainError(409, "not_enough_teams",
                              f"Can't start with {len(seeding)} teams{detail}: at least {needed} are needed.")
        try:
            matches = self.format.start(seeding)
        except ValueError as exc:  # a field the format can't hold (too few teams for its groups)
            raise DomainError(409, "format_not_playable", f"Can't start: {exc}.") from None
        produced = [self._event(events.TEAM_UNREGISTERED, team_id=t, name=self.teams[t]["name"],
                                reason="not_checked_in") for t in absent]
        produced.append(self._state_change("start"))
        ready = [m for m in matches if playable(m)]
        produced.append(self._event(events.ROUND_ADVANCED, new_round=1, matches_count=len(ready),
                                    seeding=seeding, matches=matches))
        return produced

    # ---- deciding: results -------------------------------------------------------------------

    def _playable_match(self, match_id, action="record a result for"):
        match = self.match(match_id)
        if match["status"] in DECIDED:
            raise DomainError(409, "match_not_pending", f"Can't {action} match {match_id}: it is {match['status']}.",
                              {"state": match["status"]})
        if not playable(match):
            raise DomainError(409, "match_not_ready",
                              f"Can't {action} match {match_id}: it is still waiting for its teams.",
                              {"state": "waiting"})
        return match

    def best_of(self, match_id):
        """The best-of of a match: the finals may play a longer series (`final_best_of`)."""
        final = self.options.get("final_best_of")
        if final and match_id in self.format.final_match_ids(self._play()):
            return final
        return self.config.get("best_of") or 1

    def _check_result(self, match, winner, scores):
        """:raise DomainError 400: unless `winner` and `scores` make a result this match can have."""
        if winner is None and not self.format.allows_draw(match):
            raise invalid("winner", "is required: this match can't end in a draw")
        if winner is not None and winner not in (match["team1_id"], match["team2_id"]):
            raise invalid("winner", f"must be {match['team1_id']} or {match['team2_id']}",
                          "The winner must be one of the match's two teams.")
        if scores is None:
            return
        best_of = self.best_of(match["id"])
        needed = best_of // 2 + 1
        if winner is None:
            if scores[0] != scores[1] or (best_of > 1 and scores[0] >= needed):
                raise invalid("scores", "a draw needs equal scores", "The scores must show a draw.")
            return
        mine, theirs = scores if winner == match["team1_id"] else scores[::-1]
        if mine <= theirs:
            raise invalid("scores", "the winner's score must be the higher one", "The scores must favour the winner.")
        if best_of > 1 and (mine != needed or theirs >= needed):
            raise invalid("scores", f"a best-of-{best_of} ends {needed}-0 to {needed}-{needed - 1} in games",
                          f"The scores don't fit a best-of-{best_of}.")

    def decide_record_result(self, match_id, winner, scores=None, reporter=None):
        """A result: final when the organizer gives it (`reporter` None) or when the tournament
        needs no confirmation; otherwise the captain of `reporter` reports it and the opponent's
        matching report confirms it, a different one disputes it."""
        check("record_result", self.state)
        match = self._playable_match(match_id)
        self._check_result(match, winner, scores)
        if reporter is None or not self.options.get("confirm_results", True):
            return self._result(match, winner, scores)
        if match["status"] == DISPUTED:
            raise DomainError(409, "match_disputed",
                              f"Can't report match {match_id}: it is disputed and the organizer decides.",
                              {"state": DISPUTED})
        reports = dict(match.get("reports") or {})
        reports[reporter] = {"winner": winner, "scores": scores}
        opponent = match["team2_id"] if reporter == match["team1_id"] else match["team1_id"]
        theirs = reports.get(opponent)
        if theirs is None:
            reported = dict(match, status=REPORTED, reports=reports)
            return [self._event(events.MATCH_REPORTED, match_id=match_id, team_id=reporter, winner=winner,
                                scores=scores, round=match["round"], team1_id=match["team1_id"],
                                team2_id=match["team2_id"], matches=[reported])]
        if theirs == reports[reporter] or (theirs["winner"] == winner and None in (theirs["scores"], scores)):
            agreed = scores if scores is not None else theirs["scores"]
            return self._result(dict(match, reports=reports), winner, agreed, confirmed_by=reporter)
        disputed = dict(match, status=DISPUTED, reports=reports)
        return [self._event(events.MATCH_DISPUTED, match_id=match_id, round=match["round"],
                            team1_id=match["team1_id"], team2_id=match["team2_id"], reports=reports,
                            matches=[disputed])]

    def _result(self, match, winner, scores, **fields):
        """The final result of a playable match and everything it sets off."""
        extra = {"reports": match["reports"]} if match.get("reports") else {}
        matches = Overlay(self.matches, {match["id"]: match})
        changed = self.format.record(self._play(matches), match["id"], winner, scores, **extra)
        produced = [self._event(events.MATCH_RESULT, match_id=match["id"], winner=winner, round=match["round"],
                                team1_id=match["team1_id"], team2_id=match["team2_id"], scores=scores,
                                **fields, matches=list(changed.values()))]
        matches.update(changed)
        return produced + self._follow_up(matches)

    def _open_matches(self, matches, round_no=None):
        """The open matches of `matches` (the tournament's own, or an Overlay of them), in the order
        they were made; only those of `round_no` when it is given."""
        changes = getattr(matches, "changes", {})
        known = self.open_ids if round_no is None else self.open_rounds.get(round_no, set())
        ids = known | {ident for ident, m in changes.items() if m["status"] in OPEN
                       and (round_no is None or self.format.round_of(m) == round_no)}
        if self._positions is None or len(self._positions) != len(self.matches):
            # Where each match was made; rebuilt only when matches were added.
            self._positions = {ident: index for index, ident in enumerate(self.matches)}
        new = {ident: len(self._positions) + index for index, ident in enumerate(changes)}
        ranked = sorted(ids, key=lambda ident: self._positions.get(ident, new.get(ident)))
        return [m for m in (matches[ident] for ident in ranked) if m["status"] in OPEN]

    def _openness(self, matches):
        """(how many matches are open, the lowest round with one) once `matches`' changes are in."""
        count, rounds = len(self.open_ids), Counter({r: len(ids) for r, ids in self.open_rounds.items()})
        round_of = self.format.round_of
        for ident, match in getattr(matches, "changes", {}).items():
            old = self.matches.get(ident)
            if old is not None and old["status"] in OPEN:
                count -= 1
                rounds[round_of(old)] -= 1
            if match["status"] in OPEN:
                count += 1
                rounds[round_of(match)] += 1
        return count, min((r for r, n in rounds.items() if n > 0), default=None)

    def _follow_up(self, matches, withdrawn=None):
        """What a change sets off: forfeits of withdrawn teams' matches, the next round or stage,
        the end of the event. `matches` is an Overlay of the state after the change."""
        withdrawn = frozenset(self.withdrawn if withdrawn is None else withdrawn)
        fmt = self.format
        produced = []
        while True:
            play = self._play(matches, withdrawn)
            forfeit = next((m for m in self._open_matches(matches) if playable(m)
                            and {m["team1_id"], m["team2_id"]} & withdrawn), None) if withdrawn else None
            if forfeit is not None:
                produced.append(self._forfeit(play, forfeit, withdrawn))
                matches.update({m["id"]: m for m in produced[-1]["matches"]})
                continue
            if self._openness(matches)[0] == 0 and not fmt.finished(play):
                new = fmt.next_matches(play)
                if new:
                    matches.update({m["id"]: m for m in new})
                    round_no = self._round_after(produced) + 1
                    produced.append(self._event(
                        events.ROUND_ADVANCED, new_round=round_no, matches=new,
                        matches_count=sum(1 for m in new if playable(m))))
                    continue
            break
        open_count, round_no = self._openness(matches)
        if round_no is not None and round_no > self._round_after(produced):
            ready = [m for m in self._open_matches(matches, round_no) if playable(m)]
            # The ready matches ride along for viewers; folding them again changes nothing.
            produced.append(self._event(events.ROUND_ADVANCED, new_round=round_no, matches_count=len(ready),
                                        matches=ready))
        play = self._play(matches, withdrawn)
        if open_count == 0 and fmt.finished(play):
            champion = fmt.champion(play)
            if champion in withdrawn:
                # Disqualified after its last match (double elimination without a grand final,
                # a round robin): the best team still in takes the title.
                ranked = _disqualified_last(fmt.standings(play), withdrawn)
                champion = ranked[0]["team_id"] if ranked[0]["team_id"] not in withdrawn else None
            produced += [self._state_change("complete"),
                         self._event(events.TOURNAMENT_COMPLETED, champion=champion,
                                     champion_name=self.teams[champion]["name"] if champion else None)]
        return produced

    def _round_after(self, produced):
        advanced = [e["new_round"] for e in produced if e["type"] == events.ROUND_ADVANCED]
        return advanced[-1] if advanced else self.round

    def _forfeit(self, play, match, withdrawn):
        """A withdrawn team's match: its opponent wins, or nobody when both are withdrawn."""
        out = [t for t in (match["team1_id"], match["team2_id"]) if t in withdrawn]
        if len(out) == 2:
            changed = self.format.abandon(play, match["id"], forfeit=out)
            return self._event(events.MATCH_ABANDONED, match_id=match["id"], round=match["round"],
                               team1_id=match["team1_id"], team2_id=match["team2_id"], reason="disqualified",
                               matches=list(changed.values()))
        winner = match["team2_id"] if out[0] == match["team1_id"] else match["team1_id"]
        changed = self.format.record(play, match["id"], winner, None, forfeit=out)
        return self._event(events.MATCH_RESULT, match_id=match["id"], winner=winner, round=match["round"],
                           team1_id=match["team1_id"], team2_id=match["team2_id"], scores=None,
                           forfeit=out[0], matches=list(changed.values()))

    def decide_abandon(self, match_id):
        """A double forfeit: nobody wins; in a bracket the next match gives its other team a bye."""
        check("abandon_match", self.state)
        match = self._playable_match(match_id, "abandon")
        changed = self.format.abandon(self._play(), match_id,
                                      forfeit=[match["team1_id"], match["team2_id"]])
        produced = [self._event(events.MATCH_ABANDONED, match_id=match_id, round=match["round"],
                                team1_id=match["team1_id"], team2_id=match["team2_id"], reason="abandoned",
                                matches=list(changed.values()))]
        return produced + self._follow_up(Overlay(self.matches, changed))

    def decide_disqualify(self, team_id):
        """The team is out: what it has left to play is forfeited to its opponents, its past
        results stay, it is never paired again and it is listed last."""
        return self._withdraw("disqualify", team_id, events.TEAM_DISQUALIFIED)

    def decide_drop(self, team_id):
        """The team leaves (a Swiss player dropping between rounds): like a disqualification,
        but it keeps its place in the standings."""
        return self._withdraw("drop", team_id, events.TEAM_DROPPED)

    def _withdraw(self, action, team_id, event_type):
        check(action, self.state)
        if team_id not in self.teams:
            raise not_found("team", team_id)
        if team_id in self.withdrawn:
            how = "disqualified" if team_id in self.disqualified else "dropped"
            raise DomainError(409, f"already_{how}", f"Team {team_id} is already {how}.")
        if team_id not in self.seeded_team_ids:
            raise DomainError(409, "team_not_playing", f"Team {team_id} is not playing in this tournament.")
        produced = [self._event(event_type, team_id=team_id, name=self.teams[team_id]["name"])]
        return produced + self._follow_up(Overlay(self.matches), self.withdrawn | {team_id})

    def decide_correct_result(self, match_id, winner, scores=None):
        """The organizer changes a completed result while nothing that depends on it was played.

        :raise DomainError 409: naming the played matches in the way.
        """
        check("correct_result", self.state)
        match = self.match(match_id)
        if match["status"] != COMPLETED:
            raise DomainError(409, "match_not_completed",
                              f"Can't correct match {match_id}: it is {match['status']}.", {"state": match["status"]})
        if match.get("forfeit"):
            raise DomainError(409, "match_forfeited", f"Can't correct match {match_id}: it was forfeited.")
        self._check_result(match, winner, scores)
        if winner == match["winner"] and scores == match["scores"]:
            return []
        blocking = self.format.blocking(self._play(), match_id)
        if blocking:
            raise DomainError(409, "result_locked",
                              f"Can't correct match {match_id}: later matches already depend on its result: "
                              f"{', '.join(blocking)}.", {"matches": blocking})
        try:
            changed = self.format.correct(self._play(), match_id, winner, scores)
        except ValueError as exc:  # what was drawn on the old result can't be drawn again the same way
            raise DomainError(409, "result_locked", f"Can't correct match {match_id}: {exc}.") from None
        produced = [self._event(events.RESULT_CORRECTED, match_id=match_id, winner=winner, scores=scores,
                                previous_winner=match["winner"], previous_scores=match["scores"],
                                round=match["round"], team1_id=match["team1_id"], team2_id=match["team2_id"],
                                matches=list(changed.values()))]
        return produced + self._follow_up(Overlay(self.matches, changed))

    # ---- deciding: time and the end ------------------------------------------------------------

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


def _disqualified_last(rows, withdrawn):
    """Standings rows with disqualified teams moved below everyone else, sharing the last rank."""
    if not withdrawn:
        return rows
    staying = [row for row in rows if row["team_id"] not in withdrawn]
    out = [row for row in rows if row["team_id"] in withdrawn]
    if out:
        for row in staying:
            # A rank counted past a disqualified team above it closes up.
            row["rank"] = 1 + sum(1 for other in staying if other["rank"] < row["rank"])
        for row in out:
            row["rank"] = len(staying) + 1
    return staying + out


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

