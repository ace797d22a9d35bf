"""A request waiting on PostgreSQL doesn't stop a gevent process answering others (psycogreen):
neither a tournament server nor the orchestrator's worker."""
import random
import threading
import time

import requests
import sqlalchemy as sa

from shared.identity import sign
from tests.conftest import GATEWAY_SECRET
from tests.support.big_events import ORGANIZER, Poller, write_registered_tournament
from tests.support.processes import Proc, free_port, wait_http, wait_until

HEALTH_TIMEOUT = 1.0  # the supervisor's
HELD = 2.0  # seconds the test keeps the table locked


def answers_while_locked(db_engine, table, request, health_url):
    """Lock `table` (ACCESS EXCLUSIVE), send `request()` in a thread so it waits on the lock, poll
    `health_url` meanwhile; then unlock. Returns (the request's answer, whether it was still waiting
    when the lock was released, the poller)."""
    outcome = {}
    health = Poller(health_url, timeout=HEALTH_TIMEOUT)
    with db_engine.connect() as conn:
        conn.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        waiting = threading.Thread(target=lambda: outcome.update(answer=request()))
        waiting.start()
        health.start()
        time.sleep(HELD)
        still_waiting = waiting.is_alive()
        health.stop()
        conn.rollback()
    waiting.join(timeout=30)
    return outcome.get("answer"), still_waiting, health


def test_a_tournament_server_answers_health_checks_while_a_command_waits_on_the_database(
        platform_env, db_engine, tmp_path):
    base = random.randrange(10**8, 2 * 10**9)
    tournament_id, _seq = write_registered_tournament(db_engine, "single_elimination", 4,
                                                      captain=lambda number: base + number)
    port = free_port()
    server = Proc(["tournament", "--id", tournament_id, "--port", str(port)],
                  {**platform_env, "MIGRATE_ON_START": "0"}, str(tmp_path / "server.log"))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/api/health", timeout=60, process=server.process)

        def start():
            headers = sign(GATEWAY_SECRET, tournament_id, "POST", "/api/start", ORGANIZER, ["organizer"])
            return requests.post(url + "/api/start", json={}, headers=headers, timeout=30)
        answer, still_waiting, health = answers_while_locked(db_engine, "notifications", start, url + "/api/health")
    finally:
        server.stop()
    assert still_waiting  # the start's commit was held by the lock all along
    assert health.failures == 0 and len(health.answers) >= 5
    assert answer is not None and answer.status_code == 200 and answer.json()["state"] == "ACTIVE"


def test_the_orchestrator_answers_while_a_request_waits_on_the_database(start_orchestrator, db_engine):
    orchestrator = start_orchestrator(START_SUPERVISOR="0")
    assert wait_until(lambda: orchestrator.api.get("/api/v1/tournaments").status_code == 200)
    answer, still_waiting, health = answers_while_locked(
        db_engine, "tournaments", lambda: orchestrator.api.get("/api/v1/tournaments"), orchestrator.url + "/healthz")
    assert still_waiting
    assert health.failures == 0 and len(health.answers) >= 5
    assert answer is not None and answer.status_code == 200
