"""The images as an operator runs them, without the spawner: they serve as an unprivileged user,
report healthy through their own HEALTHCHECK, and stop cleanly on SIGTERM within `docker stop`'s
grace, with no init of docker's in front. They share the host's network to reach the test
PostgreSQL and Redis on 127.0.0.1."""
import time

import pytest
import requests

from tests.e2e.helpers import server_of
from tests.support.api import make_tournament
from tests.support.processes import free_port, wait_until

# `docker stop` sends SIGTERM and kills after 10 s: a server must be gone well before (about 1 s
# on an idle machine; the tests share their cores with others).
STOP_GRACE = 8


@pytest.fixture
def run_image(engine):
    started = []

    def run(image, env):
        container = engine.containers.run(image, detach=True, network_mode="host", environment=env)
        started.append(container)
        return container
    yield run
    for container in started:
        container.remove(force=True)


def health_status(container):
    container.reload()
    return container.attrs["State"].get("Health", {}).get("Status")


def stop_and_time(container):
    """SIGTERM (what `docker stop` sends first), then the seconds until the container exited and its code."""
    began = time.monotonic()
    container.kill(signal="SIGTERM")
    code = container.wait(timeout=20)["StatusCode"]
    return time.monotonic() - began, code


def test_the_tournament_image_serves_is_healthy_and_stops_on_sigterm(
        start_orchestrator, platform_env, database_url, docker_engine, run_image):
    # A published tournament whose server is stopped: the orchestrator (no supervisor) started it
    # at publish and stopped it with itself, so the container below is its only server.
    orchestrator = start_orchestrator(START_SUPERVISOR="0")
    tid = make_tournament(orchestrator.api, state="REGISTRATION", teams=1)["id"]
    orchestrator.stop()
    assert server_of(database_url, tid)[0] is None
    port = free_port()
    container = run_image(docker_engine["TOURNAMENT_IMAGE"], {
        "TOURNAMENT_ID": tid, "SERVER_HOST": "127.0.0.1", "SERVER_PORT": str(port), "SERVER_TOKEN": "t0ken",
        **{name: platform_env[name] for name in ("DATABASE_URL", "REDIS_URL", "REDIS_NAMESPACE", "GATEWAY_SECRET")}})
    assert container.attrs["Config"]["User"] == "10001:10001"
    assert wait_until(lambda: _answers(f"http://127.0.0.1:{port}/api/health"), timeout=20), _errors(container)
    assert requests.get(f"http://127.0.0.1:{port}/api/health", timeout=5).json()["token"] == "t0ken"
    assert wait_until(lambda: health_status(container) == "healthy", timeout=60)
    seconds, code = stop_and_time(container)
    assert code == 0 and seconds < STOP_GRACE, (code, seconds, _errors(container))


def test_the_orchestrator_image_serves_under_gunicorn_is_healthy_and_stops_on_sigterm(
        platform_env, docker_engine, run_image):
    port = free_port()
    env = {name: platform_env[name] for name in ("DATABASE_URL", "REDIS_URL", "REDIS_NAMESPACE", "SECRET_KEY",
                                                 "GATEWAY_SECRET")}
    # Only the image is under test: no supervisor to take this run's fleet lease, no fleet to stop.
    container = run_image(docker_engine["ORCHESTRATOR_IMAGE"], {
        **env, "BIND": f"127.0.0.1:{port}", "START_SUPERVISOR": "0", "FLEET_STOP_ON_EXIT": "0"})
    assert container.attrs["Config"]["User"] == "10001:10001"
    assert wait_until(lambda: _answers(f"http://127.0.0.1:{port}/readyz"), timeout=30), _errors(container)
    assert b"Starting gunicorn" in container.logs() and len(container.top()["Processes"]) == 2  # master + worker
    assert wait_until(lambda: health_status(container) == "healthy", timeout=60)
    seconds, code = stop_and_time(container)
    assert code == 0 and seconds < STOP_GRACE, (code, seconds, _errors(container))


def _errors(container):
    """The container's output without traceback frames: what went wrong, in a few lines."""
    return "\n".join(line for line in container.logs().decode(errors="replace").splitlines()
                     if line and not line.startswith(" "))[-2000:]


def _answers(url):
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
