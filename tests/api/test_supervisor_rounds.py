"""A steady fleet is read from the database every FLEET_READ_EVERY rounds; the rounds in between
still find a killed server at once, and a change made elsewhere is seen at the next read. A
round's due health checks are asked side by side, and each answer is its own server's."""
import os
import signal

import sqlalchemy as sa

from orchestrator.supervisor import Supervisor
from shared.db.tables import tournament_servers, tournaments
from tests.api.helpers import ok, send
from tests.conftest import end_served_tournaments
from tests.support.processes import pid_alive, wait_until

BASE = "/api/v1/tournaments"


def server_of(db_engine, tid):
    with db_engine.connect() as conn:
        return conn.execute(sa.select(tournament_servers.c.status, tournament_servers.c.pid)
                            .where(tournament_servers.c.tournament_id == tid)).one()


def checks_of(db_engine, tid):
    with db_engine.connect() as conn:
        return conn.execute(sa.select(tournament_servers.c.last_check_at, tournament_servers.c.health_failures)
                            .where(tournament_servers.c.tournament_id == tid)).one()


def test_a_steady_fleet_is_read_every_few_rounds_and_nothing_is_missed_in_between(app, bearer_client, db_engine,
                                                                                   database_url):
    end_served_tournaments(database_url)  # what earlier tests left is not this fleet
    tid = ok(send(bearer_client, "POST", BASE, {"name": "Steady Cup", "game": "chess"}), 201)["id"]
    ok(bearer_client.post(f"{BASE}/{tid}/publish"))
    supervisor, every = Supervisor(app, app.extensions["spawner"]), app.config["FLEET_READ_EVERY"]
    reads, read = [], supervisor._read_fleet
    supervisor._read_fleet = lambda: reads.append(1) or read()
    assert every > 1
    with app.app_context():
        for _ in range(2):  # rows left in other states are settled by the first rounds
            supervisor.reconcile()
        supervisor._steady_reads_left, reads[:] = 0, []
        for _ in range(2 * every + 1):
            supervisor.reconcile()
        assert len(reads) == 3  # steady: one read serves `every` rounds; the last round read

        # A round from the last read still finds a killed server, restarts it, and reads next time.
        _, pid = server_of(db_engine, tid)
        os.kill(pid, signal.SIGKILL)
        # The exit as the round's liveness check sees it (a pidfd reads as exited a moment after
        # /proc shows the zombie).
        assert wait_until(lambda: (tid, pid) in supervisor.spawner.gone([(tid, pid)]), timeout=10)
        supervisor.reconcile()
        assert len(reads) == 3
        status, restarted = server_of(db_engine, tid)
        assert status == "RUNNING" and restarted not in (None, pid) and pid_alive(restarted)
        supervisor.reconcile()
        assert len(reads) == 4

        # Ended elsewhere (another orchestrator's cancel that could not stop it): seen at the next read.
        with db_engine.begin() as conn:
            conn.execute(sa.update(tournaments).where(tournaments.c.id == tid).values(state="CANCELLED"))
        for _ in range(every):
            supervisor.reconcile()
        assert server_of(db_engine, tid).status == "STOPPED"
        assert wait_until(lambda: not pid_alive(restarted), timeout=10)
    supervisor._probe.close()


def test_a_rounds_due_checks_are_asked_side_by_side_and_each_answer_is_its_servers(app, bearer_client, db_engine,
                                                                                   database_url):
    end_served_tournaments(database_url)
    tids = []
    for number in range(3):
        tids.append(ok(send(bearer_client, "POST", BASE, {"name": f"Side {number}", "game": "chess"}), 201)["id"])
        ok(bearer_client.post(f"{BASE}/{tids[-1]}/publish"))
    supervisor = Supervisor(app, app.extensions["spawner"])
    asked, ask = [], supervisor._probe.get_many
    supervisor._probe.get_many = lambda addresses, *rest: asked.append(list(addresses)) or ask(addresses, *rest)
    hung = server_of(db_engine, tids[1]).pid
    with app.app_context():
        try:
            for _ in range(2):  # settle, and have every check's first answer on a kept connection
                supervisor._health_due = dict.fromkeys(tids, 0)
                supervisor.reconcile()
            before = {tid: checks_of(db_engine, tid) for tid in tids}
            asked[:] = []
            os.kill(hung, signal.SIGSTOP)  # alive, using no CPU, answering nothing: a hang
            try:
                supervisor._health_due = dict.fromkeys(tids, 0)
                supervisor.reconcile()
            finally:
                os.kill(hung, signal.SIGCONT)
        finally:
            supervisor._probe.close()  # its kept connections, or a later test hears of them unclosed
    assert len(asked) == 1 and len(asked[0]) == 3  # one batch, every due check in it
    after = {tid: checks_of(db_engine, tid) for tid in tids}
    for tid in (tids[0], tids[2]):
        assert after[tid].last_check_at > before[tid].last_check_at and after[tid].health_failures == 0
    assert after[tids[1]].health_failures == 1
    assert server_of(db_engine, tids[1]) == ("UNHEALTHY", hung)  # one failed check restarts nothing yet
