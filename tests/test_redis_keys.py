"""Every Redis key the platform writes is under its namespace, and a test run deletes its own.

The run-wide check is in tests/conftest.py (`redis_namespace`); these tests prove its parts on the
real Redis: that a real workload's keys are all namespaced, and that the clean-up deletes exactly
one namespace, however its name reads.
"""
import uuid

import pytest
import redis

from tests.support.api import make_tournament, ok, play_round
from tests.support.services import REDIS_URL, delete_namespace, keys_under, run_markers, stray_keys


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    yield client
    client.close()


def test_a_workload_writes_every_key_under_the_namespace(start_orchestrator, redis_namespace, database_url,
                                                         redis_client):
    # Logins (rate-limit counters), gateway calls (identity nonces), results (published_seq), an
    # organizer and a second user, a restart of the orchestrator.
    orchestrator = start_orchestrator()
    tournament = make_tournament(orchestrator.api, state="ACTIVE", teams=4)
    play_round(orchestrator.api, tournament["id"])
    viewer = orchestrator.api.as_user(f"viewer-{uuid.uuid4().hex[:8]}")
    ok(viewer.post("/api/v1/subscriptions", {"tournament_id": tournament["id"]}), 201)
    orchestrator.stop()

    written = keys_under(redis_client, redis_namespace)
    assert any(tournament["id"] in key for key in written), written[:20]
    assert any("ratelimit" in key for key in written), written[:20]
    assert stray_keys(redis_client, redis_namespace, run_markers(database_url)) == []


def test_delete_namespace_deletes_that_namespace_only(redis_namespace, redis_client):
    # A namespace with glob characters must not match keys it does not prefix.
    mine = f"{redis_namespace}x[1]*?:"
    neighbour = f"{redis_namespace}x1-:"
    redis_client.set(f"{mine}t:t_1:published_seq", 1)
    redis_client.set(f"{mine}ratelimit:user:a:1", 1, ex=60)
    redis_client.set(f"{neighbour}t:t_1:published_seq", 1)
    for number in range(1200):  # more than one SCAN page and one UNLINK batch
        redis_client.set(f"{mine}t:t_1:nonce:{number}", 1, ex=60)

    assert delete_namespace(redis_client, mine) == 1202
    assert keys_under(redis_client, mine) == []
    assert redis_client.get(f"{neighbour}t:t_1:published_seq") == "1"


def test_stray_keys_finds_a_run_key_written_without_the_namespace(redis_namespace, redis_client):
    tid = f"t_{uuid.uuid4().hex[:10]}"
    redis_client.set(f"{redis_namespace}t:{tid}:published_seq", 3)
    redis_client.set(f"t:{tid}:published_seq", 3)
    redis_client.set(f"ratelimit:user:organizer-{tid[2:]}:1", 1, ex=60)
    try:
        found = stray_keys(redis_client, redis_namespace, [tid, f"organizer-{tid[2:]}"])
        assert found == [f"ratelimit:user:organizer-{tid[2:]}:1", f"t:{tid}:published_seq"]
    finally:
        redis_client.unlink(f"t:{tid}:published_seq", f"ratelimit:user:organizer-{tid[2:]}:1")
