"""The tournament server's core: the single writer of one tournament.

Every command runs under one lock: decide events from the current state, commit them to the log,
fold them into memory, then hand them to the publisher. A command is acknowledged only after its
commit, so an acknowledged command survives a crash of this process.
"""
import logging
import threading
import time
from datetime import datetime, timezone

from shared import events, logs
from shared.cooperative import off_the_hub
from shared.feeds import TournamentFeed
from shared.pubsub import FeedHub, REDIS_DOWN
from shared.state_machine import check
from tournament_service import metrics, permissions
from tournament_service.engine.matches import COMPLETED
from tournament_service.notifications import notifications_for
from tournament_service.permissions import ANONYMOUS
from tournament_service.store import EventLog, WriterConflict
from tournament_service.tournament import DomainError, Tournament, announcement_for, not_found

log = logging.getLogger(__name__)


def _let_others_run():
    """Between the steps of a long command, let health checks and reads be answered: under gevent
    (the served process is monkey-patched) this yields to the hub; elsewhere it is a no-op yield.

    Only where memory is whole: before a command's events are applied, or after all of them are.
    """
    time.sleep(0)


class UnknownTournament(Exception):
    pass


def _concerns_subscribers(new_events):
    return any(e["type"] == events.TOURNAMENT_STARTING
               or (e["type"] == events.STATE_CHANGED and e["to_state"] == "ACTIVE") for e in new_events)


class TournamentServer:
    """Holds one tournament's state in memory and is the only process that changes it."""

    def __init__(self, tournament_id, engine, publisher, channels):
        self.tournament_id = tournament_id
        self.log = EventLog(engine, tournament_id)
        self.feed = TournamentFeed(engine, tournament_id)
        self.publisher = publisher
        self.channels = channels
        self.channel = channels.tournament_events(tournament_id)
        # This server's own /api/events viewers; they are fed straight after each commit.
        self.hub = FeedHub()
        self._lock = threading.RLock()
        self.tournament = Tournament(tournament_id)
        self.replay_seconds, self.replayed_events = 0.0, 0  # the last rebuild from the log (/metrics)
        self._load()

    def _load(self):
        """Rebuild the state from the log; write the log's first events if this is a new tournament."""
        started, fresh = time.perf_counter(), Tournament(self.tournament_id)
        for event in self.log.load():
            fresh.apply(event)
        self.tournament = fresh
        self.replay_seconds, self.replayed_events = time.perf_counter() - started, fresh.seq
        if fresh.seq == 0:
            row = self.log.registry_row()
            if row is None:
                raise UnknownTournament(f"no tournament {self.tournament_id!r} in the registry")
            self.execute(lambda t: t.decide_publish(row), "publish")
        else:
            self._republish_unsent()

    def _republish_unsent(self):
        """Publish what a previous run of this server committed but may not have sent."""
        key = self.channels.server_key(self.tournament_id, "published_seq")
        try:
            sent = self.publisher.client.get(key)
        except REDIS_DOWN:
            return  # viewers fill gaps from the database; nothing is lost
        if sent is None:
            return  # Redis restarted empty: its subscribers were all reconnected and resynced
        for seq, _type, text in self.feed.read_after(int(sent), limit=10_000):
            self.publisher.publish(self.channel, text, mark=(key, seq))

    def execute(self, decide, command):
        """Run one command: `decide(tournament)` returns its events, which are committed, applied, sent.
        `command` names it in /metrics.

        :raise DomainError, IllegalAction: when the command is refused (nothing is written).
        """
        with metrics.command(command):
            return self._execute(decide)

    def _execute(self, decide):
        with self._lock:
            tournament = self.tournament
            new_events = off_the_hub(decide, tournament)
            if not new_events:
                return []
            published = next((e for e in new_events if e["type"] == events.TOURNAMENT_PUBLISHED), None)
            name = published["name"] if published else tournament.name
            config = published["config"] if published else tournament.config
            announcements = [a for a in (announcement_for(self.tournament_id, name, config, e)
                                         for e in new_events) if a]
            subscribers = self.log.subscriber_ids() if _concerns_subscribers(new_events) else ()
            notices = off_the_hub(notifications_for, tournament, new_events, subscribers)
            try:
                stored, announced, notified = self.log.append(tournament.seq, new_events, announcements, notices,
                                                              request_id=logs.current_request_id())
            except WriterConflict:
                log.error("another writer appended to %s; reloading from the log", self.tournament_id)
                self._load()
                raise DomainError(503, "writer_conflict",
                                  "Another server wrote to this tournament; its state was reloaded.")
            metrics.EVENTS_APPENDED.inc(len(stored))
            _let_others_run()
            for event in new_events:
                tournament.apply(event)
            key = self.channels.server_key(self.tournament_id, "published_seq")
            for seq, text in stored:
                self.hub.dispatch(self.channel, text)
                self.publisher.publish(self.channel, text, mark=(key, seq))
            for _seq, text in announced:
                self.publisher.publish(self.channels.global_announcements, text)
            for count, (user_id, _seq, text) in enumerate(notified, start=1):
                self.publisher.publish(self.channels.user_notifications(user_id), text)
                if count % 500 == 0:
                    _let_others_run()
            return new_events

    def schedule_reminder(self, now=None):
        """Send `tournament_starting` 5 minutes before starts_at, once, even across restarts."""
        due = self.tournament.reminder_due_at()
        if due is None:
            return None
        delay = max(0.0, (due - (now or datetime.now(timezone.utc))).total_seconds())
        timer = threading.Timer(delay, self._remind)
        timer.daemon = True
        timer.start()
        return timer

    def _remind(self):
        try:
            self.execute(lambda t: t.decide_reminder(datetime.now(timezone.utc)), "reminder")
        except Exception:
            log.exception("the reminder of %s failed", self.tournament_id)

    # ---- commands: each checks who asks, under the command lock --------------------------------

    def register_team(self, name, seed=None, players=None, actor=ANONYMOUS, captain=permissions.NOT_NAMED):
        def decide(t):
            captain_id = permissions.captain_of_new_team(actor, captain)
            check("register_team", t.state)
            return t.decide_register_team(name, seed, players, captain=captain_id)
        self.execute(decide, "register_team")
        return self.tournament.team_list()[-1]

    def unregister_team(self, team_id, actor=ANONYMOUS):
        self._team_command("unregister", team_id, actor, lambda t: t.decide_unregister(team_id))

    def start(self, actor=ANONYMOUS):
        self._organizer_command("start", actor, lambda t: t.decide_start())

    def record_result(self, match_id, winner, scores=None, actor=ANONYMOUS):
        """A result from the organizer (final; on a completed match, a correction) or a report
        from one of the match's captains (final too when one user captains both teams)."""
        def decide(t):
            permissions.require_user(actor)
            check("record_result", t.state)
            match = t.match(match_id)
            sides = [t.teams.get(match["team1_id"]), t.teams.get(match["team2_id"])]
            permissions.require_captain_or_organizer(actor, sides, "record a result")
            if actor.is_organizer:
                if match["status"] == COMPLETED:
                    return t.decide_correct_result(match_id, winner, scores)
                return t.decide_record_result(match_id, winner, scores)
            mine = [team["id"] for team in sides if team and team.get("captain") == actor.user_id]
            return t.decide_record_result(match_id, winner, scores, reporter=mine[0] if len(mine) == 1 else None)
        self.execute(decide, "record_result")
        return dict(self.tournament.match(match_id))

    def abandon_match(self, match_id, actor=ANONYMOUS):
        self._organizer_command("abandon_match", actor, lambda t: t.decide_abandon(match_id))
        return dict(self.tournament.match(match_id))

    def disqualify(self, team_id, actor=ANONYMOUS):
        self._organizer_command("disqualify", actor, lambda t: t.decide_disqualify(team_id))
        return dict(self.tournament.teams[team_id])

    def drop(self, team_id, actor=ANONYMOUS):
        self._team_command("drop", team_id, actor, lambda t: t.decide_drop(team_id))
        return dict(self.tournament.teams[team_id])

    def check_in(self, team_id, actor=ANONYMOUS):
        self._team_command("check_in", team_id, actor, lambda t: t.decide_check_in(team_id))
        return next(team for team in self.tournament.team_list() if team["id"] == team_id)

    def _team_command(self, action, team_id, actor, decide):
        """A command on one team, for its captain or the organizer."""
        def checked(t):
            permissions.require_user(actor)
            check(action, t.state)
            if team_id not in t.teams:
                raise not_found("team", team_id)
            permissions.require_captain_or_organizer(actor, [t.teams[team_id]], f"{action} a team")
            return decide(t)
        self.execute(checked, action)

    def cancel(self, actor=ANONYMOUS):
        self._organizer_command("cancel", actor, lambda t: t.decide_cancel())

    def archive(self, actor=ANONYMOUS):
        self._organizer_command("archive", actor, lambda t: t.decide_archive())

    def _organizer_command(self, action, actor, decide):
        def checked(t):
            # Who asks comes first: 401/403 never depend on the state (and don't reveal it).
            permissions.require_organizer(actor, action)
            check(action, t.state)
            return decide(t)
        self.execute(checked, action)
