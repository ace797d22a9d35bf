"""A Redis that requires a password: both apps, the publisher, the relay and the rate limiter use the
credentials in REDIS_URL (`redis://:pw@host:port/0` or `redis://user:pw@...`), and no log shows them.

Against a throwaway redis-server started with requirepass (and an ACL user) on a free port.
"""
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
import redis

from tests.auth.helpers import unique
from tests.support.api import make_tournament, ok
from tests.support.processes import free_port, wait_until
from tests.support.rate_windows import wait_for_fresh_window

PASSWORD = "pw-" + secrets.token_hex(12)
USER_PASSWORD = "upw-" + secrets.token_hex(12)


@pytest.fixture
def locked_redis(tmp_path):
    """(port, admin client) of a redis-server that refuses clients without a password."""
    port = free_port()
    config = (f"port {port}\nbind 127.0.0.1\nrequirepass {PASSWORD}\nsave \"\"\nappendonly no\n"
              f"dir {tmp_path}\nuser platform on >{USER_PASSWORD} ~* &* +@all\n")
    # The configuration goes in on stdin, so the password is not on a command line.
    server = subprocess.Popen([shutil.which("redis-server"), "-"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server.stdin.write(config.encode())
    server.stdin.close()
    admin = redis.Redis(port=port, password=PASSWORD)
    try:
        assert wait_until(lambda: _answers(admin), timeout=10)
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port).ping()
        yield port, admin
    finally:
        admin.close()
        server.terminate()
        server.wait(timeout=10)


def _answers(client):
    try:
        return client.ping()
    except redis.ConnectionError:
        return False


def logs_of(orchestrator, instance_path):
    texts = [orchestrator.log()]
    texts += [path.read_text(errors="replace") for path in Path(instance_path).rglob("*.log")]
    texts += [path.read_text(errors="replace") for path in Path(instance_path).rglob("*.out")]
    return "\n".join(texts)


@pytest.mark.parametrize("credentials", ["password", "user"])
def test_every_redis_client_of_the_platform_authenticates(locked_redis, start_orchestrator, platform_env,
                                                          tmp_path, credentials):
    port, admin = locked_redis
    userinfo = f":{PASSWORD}" if credentials == "password" else f"platform:{USER_PASSWORD}"
    instance = str(tmp_path / "instance")
    orchestrator = start_orchestrator(REDIS_URL=f"redis://{userinfo}@127.0.0.1:{port}/0", INSTANCE_PATH=instance,
                                      AUTH_FAILURES_PER_CLIENT_USERNAME="3/60")
    api = orchestrator.api
    assert ok(api.get("/readyz"))["checks"]["redis"] == "ok"

    # The relay hears what the tournament server publishes (and the server's nonces are kept there).
    feed = api.feed("/api/v1/events/global")
    tid = make_tournament(api, "REGISTRATION", teams=1)["id"]
    announced = feed.next_event()
    assert announced["event"] == "tournament_announced" and announced["data"]["tournament_id"] == tid
    feed.close()
    namespace = platform_env["REDIS_NAMESPACE"]
    assert admin.get(f"{namespace}t:{tid}:published_seq") is not None
    assert admin.keys(f"{namespace}t:{tid}:nonce:*")

    # The rate limiter counts in this Redis: it does not fail open.
    name = unique("locked")
    wait_for_fresh_window()
    statuses = [api.anonymous().post("/api/v1/auth/login", {"username": name, "password": "wrong-password"}).status_code
                for _ in range(5)]
    assert 429 in statuses, statuses
    assert admin.keys(f"{namespace}ratelimit:failures:{name}*")

    ok(api.post(f"/api/v1/tournaments/{tid}/cancel"))
    secret = PASSWORD if credentials == "password" else USER_PASSWORD
    assert secret not in logs_of(orchestrator, instance)


def test_a_wrong_redis_password_is_reported_without_showing_it(locked_redis, start_orchestrator, tmp_path):
    port, _admin = locked_redis
    wrong = "wrong-" + secrets.token_hex(8)
    orchestrator = start_orchestrator(REDIS_URL=f"redis://:{wrong}@127.0.0.1:{port}/0")
    answer = orchestrator.api.get("/readyz")
    assert answer.status_code == 503 and wrong not in answer.text
    assert "redis" in answer.json()["checks"] and answer.json()["checks"]["redis"] != "ok"
    assert wrong not in orchestrator.log()
