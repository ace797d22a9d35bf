"""The leader's leases: renewed together, a quarter of LEASE_TTL apart, and given up at the first
renewal that finds another holder."""
import time

import sqlalchemy as sa

from orchestrator import lease
from orchestrator.extensions import db
from orchestrator.supervisor import Supervisor
from shared.db.tables import supervisor_lease


def _expiries(supervisor):
    rows = db.session.execute(sa.select(supervisor_lease.c.name, supervisor_lease.c.holder,
                                        supervisor_lease.c.expires_at).where(supervisor_lease.c.name.in_(
                                            (lease.FLEET, lease.presence_name(supervisor.holder))))).all()
    db.session.rollback()
    return {name: (holder, expires_at) for name, holder, expires_at in rows}


def _leader(app):
    with app.app_context():
        db.session.execute(sa.delete(supervisor_lease).where(supervisor_lease.c.name == lease.FLEET))
        db.session.commit()
    supervisor = Supervisor(app, app.extensions["spawner"])
    with app.app_context():
        supervisor.is_leader = supervisor.hold_lease()
    assert supervisor.is_leader
    return supervisor


def test_a_leader_renews_both_leases_a_quarter_of_their_term_apart(app):
    supervisor, quarter = _leader(app), app.config["LEASE_TTL"] / 4
    with app.app_context():
        taken = _expiries(supervisor)
        assert {holder for holder, _ in taken.values()} == {supervisor.holder} and len(taken) == 2
        assert supervisor.hold_lease()
        assert _expiries(supervisor) == taken  # within the quarter: nothing written

        time.sleep(quarter + 0.1)
        assert supervisor.hold_lease()
        renewed = _expiries(supervisor)
        assert all(renewed[name][0] == supervisor.holder and renewed[name][1] > taken[name][1] for name in taken)
        supervisor.release_lease()


def test_a_leader_whose_lease_another_took_stops_leading_at_its_next_renewal(app):
    supervisor, quarter = _leader(app), app.config["LEASE_TTL"] / 4
    with app.app_context():
        # Its lease ran out unnoticed (a long pause) and another orchestrator took it.
        db.session.execute(sa.update(supervisor_lease).where(supervisor_lease.c.name == lease.FLEET)
                           .values(holder="elsewhere:1/other"))
        db.session.commit()
        time.sleep(quarter + 0.1)
        assert not supervisor.hold_lease()
        assert _expiries(supervisor)[lease.FLEET][0] == "elsewhere:1/other"
        db.session.execute(sa.delete(supervisor_lease).where(supervisor_lease.c.name == lease.FLEET))
        db.session.commit()
        supervisor.release_lease()


def test_a_lease_is_taken_when_free_expired_or_held_by_ones_own_workers_and_never_from_a_live_holder(app):
    with app.app_context(), db.engine.connect() as conn:
        for executor in (db.session, conn):  # a worker's session, the gunicorn master's connection
            executor.execute(sa.delete(supervisor_lease).where(supervisor_lease.c.name == "test-lease"))
            executor.commit()
            assert lease.take(executor, "test-lease", "a:1/x", 30)  # free
            assert lease.take(executor, "test-lease", "a:1/x", 30)  # renewed by its holder
            assert not lease.take(executor, "test-lease", "b:2/y", 30)  # held: not taken
            assert lease.take(executor, "test-lease", "a:1", 0.001, also_from="a:1/")  # from its own worker
            time.sleep(0.01)
            assert lease.take(executor, "test-lease", "b:2/y", 30)  # expired
            holder, = executor.execute(sa.select(supervisor_lease.c.holder)
                                       .where(supervisor_lease.c.name == "test-lease")).one()
            assert holder == "b:2/y"
            executor.execute(sa.delete(supervisor_lease).where(supervisor_lease.c.name == "test-lease"))
            executor.commit()
