"""The fleet of tournament servers: start, stop, health records, restarts with backoff, crash loops.

Every start and stop of a tournament's server happens under the lock of its `tournament_servers`
row, whoever asks (a publish request, a cancel, the supervisor), so no tournament ever gets two
servers. `tournaments.endpoint` is set only while the server answers its health checks: it is
what the gateway routes to.
"""
import json
import logging
import random
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from orchestrator import metrics
from orchestrator.extensions import db
from orchestrator.models import Tournament, TournamentServer
from orchestrator.spawners import SpawnError
from shared.errors import APIError

log = logging.getLogger(__name__)

STARTING, RUNNING, UNHEALTHY, BACKOFF, FAILED, STOPPED = (
    "STARTING", "RUNNING", "UNHEALTHY", "BACKOFF", "FAILED", "STOPPED")
STATES = (STARTING, RUNNING, UNHEALTHY, BACKOFF, FAILED, STOPPED)


def _now():
    return datetime.now(timezone.utc)


def as_utc(moment):
    """SQLite hands back naive datetimes; they are UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def restart_delay(failures, base, cap, rand=random.random):
    """Seconds to wait before restarting after failure number `failures`: none after the first
    (a lone crash is restarted at once), then exponential from `base`, capped, jittered in its
    upper half so restarts of many servers don't line up."""
    if failures <= 1:
        return 0.0
    ceiling = min(cap, base * 2 ** (failures - 2))
    return ceiling * (0.5 + rand() / 2)


def recent_failures(row, now, window):
    return [t for t in json.loads(row.failure_times or "[]") if t > now.timestamp() - window]


def server_row(tournament_id, lock=False):
    query = sa.select(TournamentServer).where(TournamentServer.tournament_id == tournament_id)
    if lock:
        query = query.with_for_update()
    return db.session.execute(query).scalar_one_or_none()


def _claim_for_start(tournament_id, spawner, settings):
    """Mark the row STARTING under its lock; False when someone else is starting or running it.

    A process the row still records and that still serves this tournament is never overwritten:
    while UNHEALTHY it is the server (a busy one, maybe: the supervisor decides), so nothing
    starts; in any other status it is a leftover of an interrupted start or stop, and it is
    stopped first, under the lock.
    """
    row = server_row(tournament_id, lock=True)
    now = _now()
    if row is None:
        row = TournamentServer(tournament_id=tournament_id, status=STOPPED, restarts=0, failure_times="[]",
                               health_failures=0)
        db.session.add(row)
    elif row.status == RUNNING or (
            row.status == STARTING and as_utc(row.started_at) and
            now - as_utc(row.started_at) < timedelta(seconds=settings["SPAWN_TIMEOUT"] + 5)):
        db.session.rollback()
        return False
    elif row.pid and spawner.is_running(row.pid, tournament_id):
        if row.status == UNHEALTHY:
            db.session.rollback()
            return False
        log.warning("stopping leftover server %s of %s (%s) before starting it", row.pid, tournament_id, row.status)
        spawner.stop(row.pid, tournament_id)
    row.status, row.started_at, row.pid, row.token = STARTING, now, None, None
    try:
        db.session.commit()
    except sa.exc.IntegrityError:  # another process inserted the row first: it is starting it
        db.session.rollback()
        return False
    return True


def _record_launch(tournament_id, handle):
    """The process exists: record it at once (still STARTING), unless the start was taken over."""
    row = server_row(tournament_id, lock=True)
    if row is None or row.status != STARTING or row.pid is not None:
        db.session.rollback()
        return False
    row.host, row.port, row.pid, row.token = handle.host, handle.port, handle.pid, handle.token
    db.session.commit()
    return True


def start_server(tournament_id, spawner, settings, counts_as_restart=False, on_failure=None):
    """Start the tournament's server unless one is starting or running. `on_failure()` runs when
    it does not come up, before the failure is recorded: while the row still says STARTING, no
    supervisor starts it again.

    :raise SpawnError: when it does not come up (the failure is recorded first).
    """
    if not _claim_for_start(tournament_id, spawner, settings):
        return server_row(tournament_id)
    asked = time.monotonic()
    try:
        handle = spawner.start(tournament_id, taken_ports=_ports_in_use(),
                               on_launch=lambda launched: _record_launch(tournament_id, launched))
    except SpawnError as exc:
        metrics.server_start_failed()
        if on_failure is not None:
            on_failure()
        record_failure(tournament_id, str(exc), settings, pid=exc.pid)
        raise
    spawned_in = time.monotonic() - asked
    row = server_row(tournament_id, lock=True)
    if row.pid != handle.pid:  # someone stopped or replaced it meanwhile: theirs stands
        db.session.rollback()
        spawner.stop(handle.pid, tournament_id)
        raise SpawnError("the start was taken over", pid=handle.pid)
    row.status, row.started_at, row.health_failures, row.last_check_at, row.last_check_ok = (
        RUNNING, handle.started_at, 0, _now(), True)
    row.restarts += 1 if counts_as_restart else 0
    db.session.get(Tournament, tournament_id).endpoint = handle.endpoint
    db.session.commit()
    metrics.server_started(spawned_in, restart=counts_as_restart)
    return row


def _ports_in_use():
    ports = db.session.execute(sa.select(TournamentServer.port).where(
        TournamentServer.status.in_((STARTING, RUNNING, UNHEALTHY)), TournamentServer.port.is_not(None)))
    return {port for (port,) in ports}


def stop_server(tournament_id, spawner):
    """Stop the tournament's server, if it has one, and stop routing to it."""
    row = server_row(tournament_id, lock=True)
    tournament = db.session.get(Tournament, tournament_id)
    if tournament is not None:
        tournament.endpoint = None
    if row is None:
        db.session.commit()
        return
    pid = row.pid
    row.status, row.pid, row.token, row.health_failures = STOPPED, None, None, 0
    db.session.commit()
    if pid:
        spawner.stop(pid, tournament_id)


def record_failure(tournament_id, error, settings, pid, now=None):
    """One more failure of the server process `pid` (None: none was launched): back off before
    the next start, or FAILED when it is a crash loop. Nothing changes when the row records
    another process by now: that newer server's record is not ours to overwrite."""
    now = now or _now()
    row = server_row(tournament_id, lock=True)
    if row.pid != pid:
        db.session.rollback()
        return row
    failures = recent_failures(row, now, settings["CRASH_LOOP_WINDOW"]) + [now.timestamp()]
    row.failure_times = json.dumps(failures)
    row.last_error, row.pid, row.token, row.health_failures = error[:500], None, None, 0
    db.session.get(Tournament, tournament_id).endpoint = None
    if len(failures) >= settings["CRASH_LOOP_FAILURES"]:
        row.status = FAILED
        log.error("tournament server %s is in a crash loop (%d failures): FAILED", tournament_id, len(failures))
    else:
        row.status = BACKOFF
        delay = restart_delay(len(failures), settings["RESTART_BACKOFF_BASE"], settings["RESTART_BACKOFF_CAP"])
        row.next_start_at = now + timedelta(seconds=delay)
    db.session.commit()
    return row


def record_check(tournament_id, healthy, settings, pid, error=None, counts=True, now=None):
    """The outcome of one liveness check of process `pid`; returns the number of failed checks in
    a row. A failure that doesn't count (a busy server) still stops routing to it. A check of a
    process the row no longer records changes nothing."""
    now = now or _now()
    row = server_row(tournament_id, lock=True)
    if row.pid != pid:
        db.session.rollback()
        return 0
    row.last_check_at, row.last_check_ok = now, healthy
    tournament = db.session.get(Tournament, tournament_id)
    if healthy:
        row.health_failures, row.status = 0, RUNNING
        tournament.endpoint = f"{row.host}:{row.port}"
        if row.failure_times != "[]" and now - as_utc(row.started_at) > timedelta(seconds=settings["STABLE_SECONDS"]):
            row.failure_times = "[]"  # stable long enough: past failures no longer count
    else:
        row.health_failures += 1 if counts else 0
        row.status, row.last_error = UNHEALTHY, error
        tournament.endpoint = None  # route only to servers that answered their check
    db.session.commit()
    return row.health_failures


def check_changes_nothing(server, endpoint, settings, now=None):
    """True when a passed check of this row would write nothing but its time: RUNNING, its last
    check passed, routed to, and no failure history due to be forgotten."""
    now = now or _now()
    return (server.status == RUNNING and server.last_check_ok and endpoint == f"{server.host}:{server.port}"
            and (server.failure_times in (None, "[]")
                 or now - as_utc(server.started_at) <= timedelta(seconds=settings["STABLE_SECONDS"])))


_servers = TournamentServer.__table__
# Built once: the supervisor runs it every round, and building it (the ORM's bulk-update path, a
# literal for every pid) cost more than sending it.
_CHECKS_PASSED = (sa.update(_servers)
                  .where(sa.tuple_(_servers.c.tournament_id, _servers.c.pid).in_(sa.bindparam("instances", expanding=True)),
                         _servers.c.status == RUNNING, _servers.c.last_check_ok.is_(True))
                  .values(last_check_at=sa.bindparam("checked_at")))


def record_checks_passed(instances, now=None):
    """Passed checks of [(tournament id, pid)] that change nothing else: one UPDATE of their check
    time, no row locks taken first. A row that changed meanwhile (another pid, another status, a
    failed check) is left as it is: that change wins."""
    if not instances:
        return
    db.session.execute(_CHECKS_PASSED, {"instances": list(instances), "checked_at": now or _now()})
    db.session.commit()


def fleet(user):
    """(tournament server rows) an admin sees all of, an organizer those of their tournaments."""
    query = sa.select(TournamentServer, Tournament.state).join(Tournament, Tournament.id == TournamentServer.tournament_id)
    if not user.is_admin:
        query = query.where(Tournament.organizer_id == user.id)
    return [dict(row.to_dict(), tournament_state=state)
            for row, state in db.session.execute(query.order_by(TournamentServer.tournament_id))]


def status_counts():
    """{status: how many servers are in it}, across the whole fleet (counts only: no detail of
    another's server)."""
    rows = db.session.execute(sa.select(TournamentServer.status, sa.func.count()).group_by(TournamentServer.status))
    return dict(rows.all())


def scrape_targets():
    """[(tournament id, "host:port")] of the servers the gateway routes to (they answered their
    last health check), by tournament id."""
    return db.session.execute(sa.select(Tournament.id, Tournament.endpoint)
                              .where(Tournament.endpoint.is_not(None)).order_by(Tournament.id)).all()


def allow_restart(tournament_id):
    """A person's restart of a FAILED server: the failure history is forgotten and the supervisor
    starts it again.

    :raise 409: in any other status (a running, starting or backing-off server restarts itself;
        starting another would orphan it).
    """
    row = server_row(tournament_id, lock=True)
    if row.status != FAILED:
        db.session.rollback()
        raise APIError(409, "illegal_state",
                       f"Can't restart the server of {tournament_id} while it is {row.status}: "
                       f"only a FAILED server waits for a restart.", {"action": "restart", "state": row.status})
    row.failure_times, row.status, row.next_start_at, row.last_error = "[]", BACKOFF, _now(), None
    db.session.commit()
    return row
