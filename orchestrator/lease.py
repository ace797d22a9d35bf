"""Rows of `supervisor_lease`: the fleet lease (who supervises) and each supervisor's presence
(which orchestrators are alive).

Every function takes something with `execute`, `commit` and `rollback` (the Flask-SQLAlchemy
session in a worker, a plain connection in the gunicorn master) and ends its own transaction.
"""
import os
import socket
import uuid
from datetime import datetime, timedelta, timezone

import psutil
import sqlalchemy as sa

from shared.db.engine import upsert_insert
from shared.db.tables import supervisor_lease

FLEET = "fleet"
PRESENCE = "present:"


def orchestrator_name(master_pid):
    """'host:pid' of an orchestrator: the machine and its gunicorn master."""
    return f"{socket.gethostname()}:{master_pid}"


def orchestrator_of_this_process():
    """The orchestrator a worker belongs to: its parent, the gunicorn master. The master names
    itself the same way, so at exit it can tell its own workers' rows from other orchestrators'."""
    return orchestrator_name(os.getppid())


def new_holder(orchestrator):
    """A holder name for one supervisor of `orchestrator`, unique across restarts."""
    return f"{orchestrator}/{uuid.uuid4().hex[:8]}"


def _now():
    return datetime.now(timezone.utc)


def take(executor, name, holder, ttl, also_from=None):
    """Take or renew lease `name` for `ttl` seconds; True when `holder` holds it now.

    It is free when unheld, expired, or held by a holder starting with `also_from` (the master
    taking over from its own workers). One upsert whose update applies only to a free lease: a
    follower asks every round, and an UPDATE then a failing INSERT was two statements and an
    exception each time.
    """
    now = _now()
    takeable = [supervisor_lease.c.holder == holder, supervisor_lease.c.expires_at < now]
    if also_from:
        takeable.append(supervisor_lease.c.holder.startswith(also_from, autoescape=True))
    dialect = executor.dialect if hasattr(executor, "dialect") else executor.get_bind().dialect
    statement = upsert_insert(dialect, supervisor_lease).values(
        name=name, holder=holder, expires_at=now + timedelta(seconds=ttl))
    statement = statement.on_conflict_do_update(
        index_elements=[supervisor_lease.c.name], where=sa.or_(*takeable),
        set_={"holder": statement.excluded.holder, "expires_at": statement.excluded.expires_at})
    taken = executor.execute(statement).rowcount == 1
    executor.commit()
    return taken


_RENEW = (sa.update(supervisor_lease)
          .where(supervisor_lease.c.name.in_(sa.bindparam("names", expanding=True)),
                 supervisor_lease.c.holder == sa.bindparam("renewing"))
          .values(expires_at=sa.bindparam("until")))


def renew(executor, names, holder, ttl):
    """Extend every lease in `names` that `holder` holds by `ttl` seconds, in one statement; True
    when it still held them all (a leader's renewal: one UPDATE, not one take per lease)."""
    renewed = executor.execute(_RENEW, {"names": list(names), "renewing": holder,
                                        "until": _now() + timedelta(seconds=ttl)}).rowcount
    executor.commit()
    return renewed == len(names)


def release(executor, name, holder):
    """Give lease `name` up at once, if `holder` still holds it."""
    executor.execute(sa.delete(supervisor_lease).where(
        supervisor_lease.c.name == name, supervisor_lease.c.holder == holder))
    executor.commit()


def presence_name(holder):
    return PRESENCE + holder.rsplit("/", 1)[-1]


def others_alive(executor, orchestrator):
    """Holders of unexpired presence rows of orchestrators other than `orchestrator`, except
    those of this machine whose master is gone (killed: its rows outlive it until they expire)."""
    rows = executor.execute(sa.select(supervisor_lease.c.holder).where(
        supervisor_lease.c.name.startswith(PRESENCE), supervisor_lease.c.expires_at > _now(),
        sa.not_(supervisor_lease.c.holder.startswith(orchestrator + "/", autoescape=True)))).all()
    executor.rollback()
    return [holder for (holder,) in rows if not _gone_from_this_machine(holder)]


def _gone_from_this_machine(holder):
    host, _, rest = holder.partition(":")
    master = rest.split("/", 1)[0]
    return host == socket.gethostname() and master.isdigit() and not psutil.pid_exists(int(master))


def forget_the_departed(executor, older_than=60):
    """Drop presence rows of supervisors that died without saying so."""
    executor.execute(sa.delete(supervisor_lease).where(
        supervisor_lease.c.name.startswith(PRESENCE),
        supervisor_lease.c.expires_at < _now() - timedelta(seconds=older_than)))
    executor.commit()
