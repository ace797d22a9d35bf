"""The supervisor: exactly one per deployment (a lease in the database), reconciling the registry
with what runs.

Every orchestrator process runs this loop; only the lease holder acts. Each round it makes every
tournament in REGISTRATION, ACTIVE or COMPLETED have one healthy server and every other tournament
none: it checks health, restarts with backoff, marks crash loops FAILED, and adopts the servers a
previous supervisor left running (their health check reports the token they were started with).
Every few rounds it also sweeps what the spawner sees for tournament servers the fleet does not
record (orphans) and stops them. It knows servers only through the spawner's interface
(orchestrator/spawners/__init__.py), so it works the same on every backend.
"""
import logging
import os
import random
import threading
import time
from collections import namedtuple
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from orchestrator import lease, metrics
from orchestrator.extensions import db
from orchestrator.models import Tournament, TournamentServer
from orchestrator.services import fleet, registry
from orchestrator.spawners import SpawnError
from orchestrator.spawners.health_probe import HealthProbe
from shared.state_machine import SERVED_STATES

# A tournament_servers row as a round reads it (its columns, by name).
_servers = TournamentServer.__table__
_ServerRow = namedtuple("_ServerRow", [column.name for column in _servers.c])
# What a round reads: every tournament that has, or should have, a server. Built once (every round).
_FLEET_ROWS = (sa.select(Tournament.id, Tournament.state, Tournament.endpoint, *_servers.c)
               .outerjoin(_servers, _servers.c.tournament_id == Tournament.id)
               .where(sa.or_(Tournament.state.in_(SERVED_STATES), _servers.c.status.in_(
                   (fleet.STARTING, fleet.RUNNING, fleet.UNHEALTHY, fleet.BACKOFF)))))

log = logging.getLogger(__name__)
_gunicorn_worker = None
# A server that misses its health check while using at least this share of a core since the last
# check is busy (a long command), not hung: a blocked or stopped process uses none.
BUSY_CPU_SHARE = 0.05


def bind_to_worker(worker):
    """gunicorn's post_worker_init: supervise only while this worker is alive and its master too.

    A worker told to stop (or orphaned by a killed master) goes on serving for its graceful
    timeout; it must not restart servers or hold the lease meanwhile.
    """
    global _gunicorn_worker
    _gunicorn_worker = worker


def _worker_is_stopping():
    worker = _gunicorn_worker
    return worker is not None and (not worker.alive or os.getppid() != worker.ppid)


@dataclass
class _Progress:
    """The CPU time of a server that failed a check, to tell busy from hung at the next one."""
    pid: int
    cpu: float
    at: float
    busy_since: float = None


@dataclass
class _Orphan:
    tournament_id: str
    first_seen: float
    asked_at: float = None


class Supervisor:
    def __init__(self, app, spawner):
        self.app = app
        self.spawner = spawner
        self.settings = app.config
        self.orchestrator = lease.orchestrator_of_this_process()
        self.holder = lease.new_holder(self.orchestrator)
        self.is_leader = False
        self._renewed_at = None  # monotonic time of the last renewal of the presence row
        self._stopped = threading.Event()
        self._thread = None
        self._rounds = 0
        self._progress = {}  # tournament id -> _Progress, for servers failing their checks
        self._orphans = {}  # pid -> _Orphan
        self._health_due = {}  # tournament id -> when (monotonic) its healthy server is asked next
        self._steady_fleet, self._steady_reads_left = None, 0  # the last read, and rounds it still serves
        self._interval = app.config["HEALTH_CHECK_INTERVAL"]  # this round's, see health_check_interval
        self._probe = HealthProbe()  # used by this supervisor's thread only
        self._answered = {}  # tournament id -> passed: this round's checks, asked side by side

    def start(self):
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopped.set()

    def _run(self):
        while not self._stopped.is_set():
            if _worker_is_stopping():
                self.shutdown()
                return
            began = time.perf_counter()
            try:
                with self.app.app_context():
                    self.is_leader = self.hold_lease()
                    if self.is_leader:
                        self.reconcile()
                        if self._rounds % self.settings["ORPHAN_SWEEP_EVERY"] == 0 and not self._stopped.is_set():
                            self.sweep_orphans()
                        self._rounds += 1
                        metrics.supervisor_round(time.perf_counter() - began)
            except Exception:
                log.exception("supervisor round failed")
                self._steady_reads_left = 0
                with self.app.app_context():
                    db.session.rollback()
            self._stopped.wait(self.settings["SUPERVISE_INTERVAL"])

    # ---- the lease -----------------------------------------------------------------------------

    def hold_lease(self):
        """Say this orchestrator is alive, then take or renew the fleet lease; True while this
        process holds it.

        A follower tries the fleet lease every round, to take over as soon as it is free. The
        presence row, and the leader's fleet lease with it (one statement), are renewed once a
        quarter of LEASE_TTL has passed: every round, the two were a tenth of an idle fleet's
        supervision (py-spy), and a lease renewed at a quarter of its term still has three
        quarters left when the leader acts on it.
        """
        ttl, now, presence = self.settings["LEASE_TTL"], time.monotonic(), lease.presence_name(self.holder)
        due = self._renewed_at is None or now - self._renewed_at >= ttl / 4
        if self.is_leader and not due:
            return True
        if self.is_leader and lease.renew(db.session, (lease.FLEET, presence), self.holder, ttl):
            self._renewed_at = now
            return True
        if due:
            lease.take(db.session, presence, self.holder, ttl)
            self._renewed_at = now
        taken = lease.take(db.session, lease.FLEET, self.holder, ttl)
        if taken and not self.is_leader:
            log.info("supervisor %s is the leader", self.holder)
            lease.forget_the_departed(db.session)
        if not taken:  # what a leader remembered is stale by the time it leads again
            self._steady_fleet, self._steady_reads_left = None, 0
            self._progress.clear()
            self._orphans.clear()
            self._health_due.clear()
            self._probe.close()
        return taken

    def release_lease(self):
        """Give up the fleet lease and say this supervisor is gone."""
        with self.app.app_context():
            lease.release(db.session, lease.FLEET, self.holder)
            lease.release(db.session, lease.presence_name(self.holder), self.holder)

    # ---- reconciling ---------------------------------------------------------------------------

    def reconcile(self):
        """One pass over every tournament that has, or should have, a server.

        A healthy server is asked its /api/health every HEALTH_CHECK_INTERVAL (staggered); the
        rounds in between only ask the spawner, for all at once, whether its process still runs,
        and write nothing (`last_check_at` is the last health check: writing every steady row every
        round was a fifth of an idle fleet's supervision, py-spy). Health checks that change
        nothing are written in one UPDATE at the end of the round; only a change (a failure, a
        recovery) locks the server's row.

        The fleet is read every FLEET_READ_EVERY rounds while all of it is steady (RUNNING, its
        last check passed, routed to, or FAILED: waiting for a person) and nothing changed since;
        otherwise every round. In between, a round works from the last read: liveness and due
        checks only. What others change in a steady fleet (a publish whose start failed, a
        tournament ended elsewhere) is seen at the next read; every write a round makes from its
        rows is guarded by the server's pid, so a row changed meanwhile is left alone.
        """
        self.spawner.reap()
        if self._steady_reads_left > 0:
            self._steady_reads_left -= 1
            rows, steady = self._steady_fleet
        else:
            rows, steady = self._read_fleet()
        running, passed = self._still_running(steady), set()
        self._answered = self._ask_side_by_side(steady, running)
        for tournament_id, state, _endpoint, server in rows:
            if self._stopped.is_set():
                return
            if (tournament_id, server and server.pid) in running:
                continue
            try:
                self.reconcile_one(tournament_id, state, server, passed if tournament_id in steady else None)
            except Exception:
                log.exception("reconciling %s failed", tournament_id)
                db.session.rollback()
        fleet.record_checks_passed(sorted(passed))
        if len(running) + len(passed) < len(steady):  # something needs a look: read it next round
            self._steady_reads_left = 0

    def _read_fleet(self):
        """(rows, {tournament id: server row} of the steady ones) read now; kept for the next
        FLEET_READ_EVERY - 1 rounds when every row is steady."""
        # Plain rows, not the model's objects: a round only reads them, and building 200 objects
        # every second was a sixth of an idle fleet's supervision (py-spy). Values, they also
        # outlive the rollback below.
        rows = [(tournament_id, state, endpoint, _ServerRow._make(server) if server[0] is not None else None)
                for tournament_id, state, endpoint, *server in db.session.execute(_FLEET_ROWS)]
        db.session.rollback()  # release the snapshot; each step below locks its own row
        steady = {tournament_id: server for tournament_id, state, endpoint, server in rows
                  if state in SERVED_STATES and server is not None
                  and fleet.check_changes_nothing(server, endpoint, self.settings)}
        # A FAILED server waits for a person: their restart is seen at the next read.
        waiting = sum(1 for _, state, _, server in rows
                      if state in SERVED_STATES and server is not None and server.status == fleet.FAILED)
        self._steady_fleet = (rows, steady)
        self._steady_reads_left = self.settings["FLEET_READ_EVERY"] - 1 if len(steady) + waiting == len(rows) else 0
        return rows, steady

    def _ask_side_by_side(self, steady, running):
        """{tournament id: passed} of the health checks due this round of steady servers, all sent
        before any answer is read (HealthProbe.get_many): asked one after the other, each check
        put this thread to sleep until its server answered, and where waking a process is dear
        those wakeups were most of the round's CPU. What the answers mean is decided in `_check`."""
        due = [(tournament_id, server.host, server.port, server.token) for tournament_id, server in steady.items()
               if (tournament_id, server.pid) not in running and server.host and server.port]
        if len(due) < 2 or len({(host, port) for _, host, port, _ in due}) < len(due):
            return {}  # one check gains nothing; a shared address (never expected) is asked in turn
        return self.spawner.health_of(due, self.settings["HEALTH_TIMEOUT"], self._probe)

    def health_check_interval(self, healthy):
        """Seconds between two health checks of a healthy server when `healthy` servers are:
        HEALTH_CHECK_INTERVAL, stretched so that they are asked HEALTH_CHECKS_PER_SECOND at most
        (0: no cap)."""
        per_second = self.settings["HEALTH_CHECKS_PER_SECOND"]
        self._interval = max(self.settings["HEALTH_CHECK_INTERVAL"], healthy / per_second if per_second > 0 else 0)
        return self._interval

    def _still_running(self, steady):
        """{(tournament id, pid)} of the steady servers whose health check is not due this round and
        whose process the spawner still sees; the others are checked in full."""
        now, interval = time.monotonic(), self.health_check_interval(len(steady))
        for tournament_id in list(self._health_due):
            if tournament_id not in steady:
                del self._health_due[tournament_id]
        between = set()
        for tournament_id, server in steady.items():
            # First seen (a start, a new leader): asked within one interval, at a random point of
            # it, so that the checks of many servers spread over the rounds.
            due = self._health_due.setdefault(tournament_id, now + random.uniform(0, interval))
            if due > now:
                between.add((tournament_id, server.pid))
        if not between:
            return set()
        try:
            return between - self.spawner.gone(list(between))
        except Exception as exc:  # the engine cannot tell: ask them all instead
            log.warning("the spawner cannot tell which servers run: %s", exc)
            return set()

    def reconcile_one(self, tournament_id, state, server, passed=None):
        status = server.status if server else fleet.STOPPED
        if state not in SERVED_STATES:
            if status != fleet.STOPPED:
                registry.finish_ended(tournament_id, self.spawner)
            return
        if status == fleet.FAILED:
            return  # a crash loop waits for a person
        if status in (fleet.STOPPED, fleet.BACKOFF):
            if status == fleet.BACKOFF and fleet.as_utc(server.next_start_at) > datetime.now(timezone.utc):
                return
            self._start(tournament_id, counts_as_restart=status == fleet.BACKOFF)
        elif status == fleet.STARTING:
            # Someone (a publish request) is starting it; past the start timeout it counts as failed,
            # and the process it launched (if any) is stopped before it is forgotten.
            if datetime.now(timezone.utc) - fleet.as_utc(server.started_at) > timedelta(
                    seconds=self.settings["SPAWN_TIMEOUT"] + 5):
                if server.pid:
                    self.spawner.stop(server.pid, tournament_id)
                fleet.record_failure(tournament_id, "start did not finish", self.settings, pid=server.pid)
        else:
            self._check(tournament_id, server, passed)

    def _start(self, tournament_id, counts_as_restart):
        try:
            fleet.start_server(tournament_id, self.spawner, self.settings, counts_as_restart)
        except SpawnError as exc:
            log.warning("server of %s did not start: %s", tournament_id, exc)

    def _check(self, tournament_id, server, passed=None):
        """Liveness: answers as itself, or is restarted (at once when its process is gone). A live
        process that doesn't answer but keeps working is busy, and gets BUSY_GRACE seconds; one
        its engine is restarting (Swarm) is waited for. A passed check of a steady server is added
        to `passed` (written with the round's others) instead of locking its row."""
        pid = server.pid
        self._health_due[tournament_id] = time.monotonic() + self._interval
        healthy = self._answered.pop(tournament_id, None)
        if healthy is None:
            healthy = self.spawner.health(server.host, server.port, tournament_id, server.token,
                                          timeout=self.settings["HEALTH_TIMEOUT"], probe=self._probe)
        if healthy:
            self._progress.pop(tournament_id, None)
            if passed is not None:
                passed.add((tournament_id, pid))
            else:
                fleet.record_check(tournament_id, True, self.settings, pid=pid)
            return
        alive = bool(pid) and self.spawner.is_running(pid, tournament_id)
        if not alive:
            self._progress.pop(tournament_id, None)
            fleet.record_failure(tournament_id, "the server process is gone", self.settings, pid=pid)
            self._start_if_due(tournament_id)
            return
        if self.spawner.is_restarting(pid, tournament_id):
            self._progress.pop(tournament_id, None)
            fleet.record_check(tournament_id, False, self.settings, pid=pid, counts=False,
                               error="restarting: its engine is bringing it back")
            return
        if self._is_busy(tournament_id, pid):
            fleet.record_check(tournament_id, False, self.settings, pid=pid, counts=False,
                               error="busy: no answer to its health check, but working")
            return
        failed_checks = fleet.record_check(tournament_id, False, self.settings, pid=pid, error="health check failed")
        if failed_checks >= self.settings["HEALTH_FAILURES_BEFORE_RESTART"]:
            self._progress.pop(tournament_id, None)
            self.spawner.stop(pid, tournament_id)
            fleet.record_failure(tournament_id, f"{failed_checks} health checks failed", self.settings, pid=pid)

    def _is_busy(self, tournament_id, pid):
        """True when the server used CPU since its last failed check (a long command, not a hang),
        for at most BUSY_GRACE seconds in a row (a runaway loop is restarted after that)."""
        cpu, now = self.spawner.cpu_seconds(pid, tournament_id), time.monotonic()
        last = self._progress.get(tournament_id)
        if cpu is None or last is None or last.pid != pid:
            self._progress[tournament_id] = _Progress(pid, cpu or 0.0, now)
            return False
        working = cpu - last.cpu >= BUSY_CPU_SHARE * (now - last.at)
        busy_since = (last.busy_since or last.at) if working else None
        self._progress[tournament_id] = _Progress(pid, cpu, now, busy_since)
        if busy_since is not None and now - busy_since > self.settings["BUSY_GRACE"]:
            log.warning("server of %s has been busy for over %ss without answering", tournament_id,
                        self.settings["BUSY_GRACE"])
            return False
        return working

    def _start_if_due(self, tournament_id):
        row = fleet.server_row(tournament_id)
        db.session.rollback()
        if row.status == fleet.BACKOFF and fleet.as_utc(row.next_start_at) <= datetime.now(timezone.utc):
            self._start(tournament_id, counts_as_restart=True)

    # ---- orphans -------------------------------------------------------------------------------

    def sweep_orphans(self):
        """Stop every server the spawner sees that serves one of our tournaments but is not the
        instance the fleet records for it: asked to stop once it has gone unrecorded for ORPHAN_GRACE
        seconds (a server being stopped or started is unrecorded for a moment), killed if it
        still runs a stop grace later. Servers of tournaments this database doesn't know (another
        deployment on the machine) are left alone."""
        running = self.spawner.running_servers()  # first: a server launched after this is not judged
        recorded = db.session.execute(
            sa.select(Tournament.id, TournamentServer.status, TournamentServer.pid)
            .outerjoin(TournamentServer, TournamentServer.tournament_id == Tournament.id)
            .where(Tournament.id.in_(list(running)))).all() if running else []
        db.session.rollback()
        now, unrecorded = time.monotonic(), set()
        for tournament_id, status, pid in recorded:
            if status != fleet.STARTING:  # a start records its pid a moment after launching it
                unrecorded.update((other, tournament_id) for other in running[tournament_id] if other != pid)
        for pid, tournament_id in unrecorded:
            self._orphans.setdefault(pid, _Orphan(tournament_id, now))
        for pid, orphan in list(self._orphans.items()):
            if (pid, orphan.tournament_id) not in unrecorded:
                del self._orphans[pid]
            elif orphan.asked_at is None and now - orphan.first_seen >= self.settings["ORPHAN_GRACE"]:
                log.warning("stopping orphan server %s of %s (the fleet records another)", pid, orphan.tournament_id)
                self.spawner.ask_to_stop(pid, orphan.tournament_id)
                orphan.asked_at = now
            elif orphan.asked_at is not None and now - orphan.asked_at >= self.spawner.stop_timeout:
                self.spawner.force_stop(pid, orphan.tournament_id)

    # ---- shutting down -------------------------------------------------------------------------

    def shutdown(self, timeout=3.0):
        """A clean exit of this process: stop supervising and hand the lease on at once instead of
        letting it expire. Whether the fleet stops too is the gunicorn master's call (shutdown.py)."""
        self.stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=timeout)
        self.is_leader = False
        try:
            self.release_lease()
        except sa.exc.SQLAlchemyError as exc:  # the lease then expires by itself
            log.warning("could not hand the fleet lease on: %s", exc)
