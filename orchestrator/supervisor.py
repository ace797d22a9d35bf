"""The supervisor: exactly one per deployment (a lease in the database), reconciling the registry
with what runs.

Every orchestrator process runs this loop; only the lease holder acts. Each round it makes every
tournament in REGISTRATION, ACTIVE or COMPLETED have one healthy server and every other tournament
none: it checks health, restarts with backoff, marks crash loops FAILED, and adopts the servers a
previous supervisor left running (their health check reports the token they were started with).
"""
import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from orchestrator.extensions import db
from orchestrator.models import Tournament, TournamentServer
from orchestrator.services import fleet, registry
from orchestrator.spawner import SpawnError, is_tournament_server
from shared.db.tables import supervisor_lease
from shared.state_machine import SERVED_STATES

log = logging.getLogger(__name__)
LEASE = "fleet"
_gunicorn_worker = None


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


class Supervisor:
    def __init__(self, app, spawner):
        self.app = app
        self.spawner = spawner
        self.settings = app.config
        self.holder = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.is_leader = False
        self._stopped = threading.Event()
        self._thread = None

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
            try:
                with self.app.app_context():
                    self.is_leader = self.hold_lease()
                    if self.is_leader:
                        self.reconcile()
            except Exception:
                log.exception("supervisor round failed")
                with self.app.app_context():
                    db.session.rollback()
            self._stopped.wait(self.settings["SUPERVISE_INTERVAL"])

    # ---- the lease -----------------------------------------------------------------------------

    def hold_lease(self):
        """Take or renew the lease; True while this process holds it."""
        now = datetime.now(timezone.utc)
        expires = now + timedelta(seconds=self.settings["LEASE_TTL"])
        taken = db.session.execute(
            sa.update(supervisor_lease)
            .where(supervisor_lease.c.name == LEASE,
                   sa.or_(supervisor_lease.c.holder == self.holder, supervisor_lease.c.expires_at < now))
            .values(holder=self.holder, expires_at=expires)).rowcount
        if not taken:
            try:
                db.session.execute(sa.insert(supervisor_lease).values(name=LEASE, holder=self.holder, expires_at=expires))
                taken = 1
            except sa.exc.IntegrityError:  # someone else holds it
                db.session.rollback()
                return False
        db.session.commit()
        if taken and not self.is_leader:
            log.info("supervisor %s is the leader", self.holder)
        return bool(taken)

    def release_lease(self):
        with self.app.app_context():
            db.session.execute(sa.delete(supervisor_lease).where(
                supervisor_lease.c.name == LEASE, supervisor_lease.c.holder == self.holder))
            db.session.commit()

    # ---- reconciling ---------------------------------------------------------------------------

    def reconcile(self):
        """One pass over every tournament that has, or should have, a server."""
        self.spawner.reap()
        rows = db.session.execute(
            sa.select(Tournament.id, Tournament.state, TournamentServer)
            .outerjoin(TournamentServer, TournamentServer.tournament_id == Tournament.id)
            .where(sa.or_(Tournament.state.in_(SERVED_STATES), TournamentServer.status.in_(
                (fleet.STARTING, fleet.RUNNING, fleet.UNHEALTHY, fleet.BACKOFF))))).all()
        db.session.rollback()  # release the snapshot; each step below locks its own row
        for tournament_id, state, server in rows:
            if self._stopped.is_set():
                return
            try:
                self.reconcile_one(tournament_id, state, server)
            except Exception:
                log.exception("reconciling %s failed", tournament_id)
                db.session.rollback()

    def reconcile_one(self, tournament_id, state, server):
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
            # Someone (a publish request) is starting it; past the start timeout it counts as failed.
            if datetime.now(timezone.utc) - fleet.as_utc(server.started_at) > timedelta(
                    seconds=self.settings["SPAWN_TIMEOUT"] + 5):
                fleet.record_failure(tournament_id, "start did not finish", self.settings)
        else:
            self._check(tournament_id, server)

    def _start(self, tournament_id, counts_as_restart):
        try:
            fleet.start_server(tournament_id, self.spawner, self.settings, counts_as_restart)
        except SpawnError as exc:
            log.warning("server of %s did not start: %s", tournament_id, exc)

    def _check(self, tournament_id, server):
        """Liveness: answers as itself, or is restarted (at once when its process is gone)."""
        if self.spawner.health(server.host, server.port, tournament_id, server.token,
                               timeout=self.settings["HEALTH_TIMEOUT"]):
            fleet.record_check(tournament_id, True, self.settings)
            return
        alive = bool(server.pid) and is_tournament_server(server.pid, tournament_id)
        if not alive:
            fleet.record_failure(tournament_id, "the server process is gone", self.settings)
            self._start_if_due(tournament_id)
            return
        failed_checks = fleet.record_check(tournament_id, False, self.settings, "health check failed")
        if failed_checks >= self.settings["HEALTH_FAILURES_BEFORE_RESTART"]:
            self.spawner.stop(server.pid, tournament_id)
            fleet.record_failure(tournament_id, f"{failed_checks} health checks failed", self.settings)

    def _start_if_due(self, tournament_id):
        row = fleet.server_row(tournament_id)
        db.session.rollback()
        if row.status == fleet.BACKOFF and fleet.as_utc(row.next_start_at) <= datetime.now(timezone.utc):
            self._start(tournament_id, counts_as_restart=True)

    # ---- shutting down -------------------------------------------------------------------------

    def shutdown(self):
        """A clean exit of this process: stop supervising and hand the lease on at once instead of
        letting it expire. The fleet itself is stopped by the gunicorn master (shutdown.py)."""
        self.stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        if self.is_leader:
            self.is_leader = False
            self.release_lease()
