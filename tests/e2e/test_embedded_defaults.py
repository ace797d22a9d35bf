"""`run.py orchestrator` with nothing configured: a SQLite file and a redis-server of its own."""
import os

from tests.support.api import Api, make_tournament, ok, play_round
from tests.support.processes import Proc, free_port, wait_http
from tests.support.sse import SSEClient


def test_the_platform_runs_on_embedded_defaults(tmp_path):
    instance = tmp_path / "instance"
    env = {"INSTANCE_PATH": str(instance), "TOURNAMENT_PORTS": "27100-27150", "SSE_HEARTBEAT_SECONDS": "2"}
    assert "DATABASE_URL" not in os.environ and "REDIS_URL" not in os.environ
    port = free_port()
    proc = Proc(["orchestrator", "--port", str(port)], env, str(tmp_path / "orchestrator.log"))
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", process=proc.process)
        api = Api(f"http://127.0.0.1:{port}").login("local-organizer")
        assert ok(api.get("/readyz"))["checks"] == {"database": "ok", "redis": "ok"}
        tournament = make_tournament(api, state="ACTIVE", teams=2)
        viewer = SSEClient(api.url(f"/api/v1/events/tournaments/{tournament['id']}"))
        play_round(api, tournament["id"])
        # The result went through the tournament server, the embedded Redis and the relay.
        assert [e["event"] for e in viewer.collect(3)] == ["match_result", "state_changed", "tournament_completed"]
        viewer.close()
        assert (instance / "platform.db").exists()
    finally:
        proc.stop()
