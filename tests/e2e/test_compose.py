"""docker-compose.yml brought up for real with Compose v2 (scripts/compose) on the private engine of
scripts/docker-engine, with the postgres:15 and redis:7 stand-ins of scripts/docker-standins: the
stack serves, a published tournament runs as a container on the project's private network and is
played to a champion through the gateway, and `down -v` leaves nothing of the project behind
(its tournament containers included, which compose itself knows nothing of).

Nothing here skips: when the engine, the images or Compose cannot be had, the tests fail and say why.
40-50 s with the images cached (the stand-ins' first build adds a minute).
"""
import os
import secrets
import subprocess
import uuid

import pytest
import requests

from orchestrator.spawners.docker import DEPLOYMENT, TOURNAMENT
from tests.e2e.conftest import ROOT, _engine_settings
from tests.support.api import Api, make_tournament, ok, play_round
from tests.support.processes import free_port, wait_until

COMPOSE = str(ROOT / "scripts" / "compose")
PROJECT_LABEL = "com.docker.compose.project"
SECRETS = ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "SECRET_KEY", "GATEWAY_SECRET")


@pytest.fixture(scope="session")
def standins(docker_engine):
    """The engine's settings once it has images named postgres:15 and redis:7 (stand-ins here)."""
    return _engine_settings("docker-standins", "the compose test needs postgres:15 and redis:7 on the engine")


class Stack:
    """One compose project of docker-compose.yml on the private engine, under a name of its own."""

    def __init__(self, settings, config_dir):
        self.project = f"tpc{uuid.uuid4().hex[:10]}"
        self.port = free_port()
        socket = settings["DOCKER_HOST"].removeprefix("unix://")
        # Only what the file reads, plus what the binary needs: no COMPOSE_* or settings of the
        # test run leak in.
        self.env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
                    "DOCKER_HOST": settings["DOCKER_HOST"], "DOCKER_CONFIG": str(config_dir),
                    **{name: secrets.token_hex(24) for name in SECRETS},
                    "DOCKER_SOCKET": socket, "DOCKER_GID": str(os.stat(socket).st_gid),
                    "PUBLISH": f"127.0.0.1:{self.port}", "BUILD_NETWORK": "host",
                    "ORCHESTRATOR_IMAGE": f"tournament-platform/orchestrator:{self.project}",
                    "TOURNAMENT_IMAGE": f"tournament-platform/tournament:{self.project}"}
        self.url = f"http://127.0.0.1:{self.port}"

    def run(self, *args, check=True, timeout=600, env=None):
        done = subprocess.run([COMPOSE, "-p", self.project, *args], cwd=ROOT, env=env or self.env,
                              capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            pytest.fail(f"compose {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}\n"
                        f"{self.logs()}", pytrace=False)
        return done

    def logs(self):
        done = subprocess.run([COMPOSE, "-p", self.project, "logs", "--no-color", "--tail", "40"], cwd=ROOT,
                              env=self.env, capture_output=True, text=True, timeout=60)
        return done.stdout[-4000:]


def answers(get, path):
    """True when `get(path)` is a 200; False while the orchestrator restarts (docker's proxy then
    accepts and drops the connection)."""
    try:
        return get(path).status_code == 200
    except requests.RequestException:
        return False


def leftovers(engine, project):
    """Whatever of the project the engine still holds: compose's objects and the orchestrator's."""
    return {"containers": [c.name for c in engine.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={project}"})]
            + [c.name for c in engine.containers.list(all=True, filters={"label": f"{DEPLOYMENT}={project}"})],
            "networks": [n.name for n in engine.networks.list(filters={"label": f"{PROJECT_LABEL}={project}"})],
            "volumes": [v.name for v in engine.volumes.list(filters={"label": f"{PROJECT_LABEL}={project}"})]}


@pytest.fixture
def stack(standins, engine, tmp_path):
    stack = Stack(standins, tmp_path / "docker-config")
    yield stack
    # Whatever a failed test left: the project, the tournament containers by label, the image tags.
    stack.run("down", "-v", "--timeout", "5", check=False)
    for container in engine.containers.list(all=True, filters={"label": f"{DEPLOYMENT}={stack.project}"}):
        container.remove(force=True)
    for network in engine.networks.list(filters={"label": f"{PROJECT_LABEL}={stack.project}"}):
        network.remove()
    for image in (stack.env["ORCHESTRATOR_IMAGE"], stack.env["TOURNAMENT_IMAGE"]):
        try:
            engine.images.remove(image)  # untags; the layers stay cached
        except Exception:
            pass


def test_the_compose_stack_plays_a_tournament_in_a_container_and_leaves_nothing_after_down(stack, engine):
    # Built from this checkout (the layer cache of scripts/docker-engine makes it seconds), then up.
    stack.run("build")
    stack.run("up", "--detach", "--wait", "--wait-timeout", "180")
    ready = requests.get(f"{stack.url}/readyz", timeout=10)
    assert ready.status_code == 200, f"{ready.status_code} {ready.text}\n{stack.logs()}"
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}

    # The orchestrator: unprivileged, with the socket's group, an init, published on loopback only.
    [orchestrator] = engine.containers.list(filters={"label": [f"{PROJECT_LABEL}={stack.project}",
                                                               "com.docker.compose.service=orchestrator"]})
    config = orchestrator.attrs["HostConfig"]
    assert orchestrator.attrs["Config"]["User"] == "10001:10001"
    assert config["GroupAdd"] == [stack.env["DOCKER_GID"]] and config["Init"] is True
    assert [(b["HostIp"], b["HostPort"]) for b in config["PortBindings"]["5000/tcp"]] == [("127.0.0.1", str(stack.port))]

    # An organizer publishes a tournament: its server is a container of the tournament image on the
    # project's network, labelled with the project as its deployment, and answers through the gateway.
    api = Api(stack.url).login("compose_organizer")
    tid = make_tournament(api, state="ACTIVE", teams=4, name="Compose Cup")["id"]
    [server] = engine.containers.list(filters={"label": [f"{DEPLOYMENT}={stack.project}", f"{TOURNAMENT}={tid}"]})
    assert server.image.tags == [stack.env["TOURNAMENT_IMAGE"]]
    assert list(server.attrs["NetworkSettings"]["Networks"]) == [f"{stack.project}_default"]
    assert server.attrs["HostConfig"]["PortBindings"] in (None, {})  # nothing of it on the host
    assert ok(api.get(f"/t/{tid}/api/state"))["state"] == "ACTIVE"

    # Played to the end through the gateway: the registry names the champion.
    while ok(api.get(f"/t/{tid}/api/matches", params={"status": "pending"}))["items"]:
        play_round(api, tid)
    assert wait_until(lambda: ok(api.get(f"/api/v1/tournaments/{tid}"))["state"] == "COMPLETED", timeout=20)
    assert ok(api.get(f"/api/v1/tournaments/{tid}"))["champion"] == {"name": "Team 1", "team_id": "team_1"}
    server.reload()
    assert server.status == "running"  # a completed tournament's server stays until it is archived

    # The orchestrator restarted (a clean stop, then a start): its clean stop removes the server's
    # container, the new one starts a new container from the log in the database volume.
    stack.run("restart", "orchestrator")
    assert wait_until(lambda: answers(api.get, f"/t/{tid}/api/state"), timeout=60), stack.logs()
    assert ok(api.get(f"/t/{tid}/api/state"))["champion"] == "team_1"
    [restarted] = engine.containers.list(filters={"label": [f"{DEPLOYMENT}={stack.project}", f"{TOURNAMENT}={tid}"]})
    assert restarted.id != server.id

    # down -v: compose removes its containers, network and volume; the orchestrator's clean stop
    # removes the tournament's container first (compose knows nothing of it, and the network could
    # not be removed while it is attached).
    stack.run("down", "--volumes", "--timeout", "60")
    assert leftovers(engine, stack.project) == {"containers": [], "networks": [], "volumes": []}


def test_compose_refuses_to_start_without_each_secret_and_names_it(stack):
    for name in SECRETS:
        done = stack.run("config", "--quiet", check=False, env={k: v for k, v in stack.env.items() if k != name})
        assert done.returncode != 0 and f"set {name}" in done.stderr, (name, done.stderr)
    done = stack.run("config", "--quiet", check=False, env={k: v for k, v in stack.env.items() if k != "DOCKER_GID"})
    assert done.returncode != 0 and "set DOCKER_GID to the group of the Docker socket" in done.stderr
    assert stack.run("config", "--quiet").returncode == 0
