"""Big events start on a real tournament server, which keeps answering health checks meanwhile, and
every captain hears exactly what the start means for them."""
import json
import random
import time
from collections import defaultdict
from datetime import datetime, timezone

import pytest
import requests
import sqlalchemy as sa

from shared.db.tables import channel_sequences, notifications, subscriptions, users
from shared.identity import sign
from tests.conftest import GATEWAY_SECRET
from tests.support.big_events import ORGANIZER, Poller, write_registered_tournament
from tests.support.processes import Proc, free_port, wait_http, wait_until

# The supervisor's check: 1 s to answer (HEALTH_TIMEOUT), three misses in a row and it restarts.
HEALTH_TIMEOUT = 1.0
EARLIER_NOTIFICATIONS = 7  # the captain of teams 3 and 4 already had these, from another event


def captains(base):
    """Team k's captain: user base+k (one team per captain, as the server requires; ids of their own,
    so the run's other tests' users don't share their feeds)."""
    return lambda number: base + number


def subscriber(db_engine, tournament_id):
    """A user who follows the tournament without playing in it; returns their id."""
    now = datetime.now(timezone.utc)
    with db_engine.begin() as conn:
        user_id = conn.execute(sa.insert(users).values(
            username=f"fan-{tournament_id}"[:30], username_key=f"fan-{tournament_id}"[:30], password_hash="x",
            created_at=now).returning(users.c.id)).scalar_one()
        conn.execute(sa.insert(subscriptions).values(user_id=user_id, tournament_id=tournament_id, created_at=now))
    return user_id


@pytest.mark.parametrize("format_name, teams", [("round_robin", 256), ("double_elimination", 2048)])
def test_a_big_start_keeps_the_server_answering_and_tells_every_captain_their_match(
        format_name, teams, platform_env, db_engine, tmp_path):
    base = random.randrange(10**8, 2 * 10**9)
    tournament_id, _seq = write_registered_tournament(db_engine, format_name, teams, captain=captains(base))
    fan = subscriber(db_engine, tournament_id)
    with db_engine.begin() as conn:
        conn.execute(sa.insert(channel_sequences).values(channel=f"user:{base + 1}", last_seq=EARLIER_NOTIFICATIONS))
    port = free_port()
    server = Proc(["tournament", "--id", tournament_id, "--port", str(port)],
                  {**platform_env, "MIGRATE_ON_START": "0", "SERVER_TOKEN": "big"}, str(tmp_path / "server.log"))
    url = f"http://127.0.0.1:{port}"
    health = Poller(url + "/api/health", timeout=HEALTH_TIMEOUT)
    try:
        wait_http(url + "/api/health", timeout=60, process=server.process)
        health.start()
        assert wait_until(lambda: health.answers)
        headers = sign(GATEWAY_SECRET, tournament_id, "POST", "/api/start", ORGANIZER, ["organizer"])
        failures_before, began = health.failures, time.monotonic()
        answer = requests.post(url + "/api/start", json={}, headers=headers, timeout=60)
        ended = time.monotonic()
        health.stop()
        assert answer.status_code == 200, answer.text[:300]
        assert answer.json()["state"] == "ACTIVE"
        assert health.failures == failures_before
        assert health.longest_gap(began, ended) < HEALTH_TIMEOUT
        ready = requests.get(url + "/api/matches", timeout=10).json()["items"]
        teams_listed = requests.get(url + "/api/teams", timeout=10).json()["items"]
        team_captain = {team["id"]: team["captain"] for team in teams_listed}
    finally:
        health.stop()
        server.stop()

    with db_engine.connect() as conn:
        rows = conn.execute(sa.select(notifications.c.user_id, notifications.c.seq, notifications.c.type,
                                      notifications.c.payload)
                            .where(notifications.c.tournament_id == tournament_id)
                            .order_by(notifications.c.user_id, notifications.c.seq)).all()
    heard = defaultdict(list)
    for row in rows:
        heard[row.user_id].append(row)
    # Each user's feed continues where it was, without a gap.
    for user_id, theirs in heard.items():
        first = EARLIER_NOTIFICATIONS + 1 if user_id == base + 1 else 1
        assert [row.seq for row in theirs] == list(range(first, first + len(theirs)))
    # Everyone involved hears that it starts, once.
    starting = sorted(row.user_id for row in rows if row.type == "tournament_starting")
    assert starting == sorted(set(team_captain.values()) | {fan})
    # Both captains of every match playable now, and no one else, hear of it, once per team.
    told = sorted((row.user_id, payload["match_id"], payload["team_id"])
                  for row, payload in ((row, json.loads(row.payload)) for row in rows) if row.type == "match_ready")
    expected = sorted((team_captain[team], match["id"], team)
                      for match in ready for team in (match["team1_id"], match["team2_id"]))
    assert told == expected
    assert len(ready) == teams // 2  # round 1 only: a round robin's later rounds come when they begin
