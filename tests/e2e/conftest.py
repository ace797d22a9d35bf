"""Fixtures of the end-to-end tests that need a Docker engine (the docker spawner, the images)."""
import shlex
import subprocess
import uuid
from pathlib import Path

import docker
import pytest

from orchestrator.spawners.docker import DEPLOYMENT

ROOT = Path(__file__).resolve().parents[2]
FAST_RESTARTS = {"RESTART_BACKOFF_BASE": "0.1", "RESTART_BACKOFF_CAP": "0.5", "SUPERVISE_INTERVAL": "0.3"}


def _engine_settings(script, needs, timeout=1200):
    """Runs a setup script of scripts/ and returns the settings it prints (shell assignments)."""
    done = subprocess.run([str(ROOT / "scripts" / script)], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        pytest.fail(f"scripts/{script} failed ({done.returncode}); {needs}:\n{done.stderr[-3000:]}", pytrace=False)
    settings = {}
    for word in shlex.split(done.stdout.strip().removeprefix("export ")):
        name, _, value = word.partition("=")
        settings[name] = value
    return settings


@pytest.fixture(scope="session")
def docker_engine():
    """The engine's settings (DOCKER_HOST, TOURNAMENT_IMAGE), after scripts/docker-engine made sure
    it runs and the images are built (seconds when they are cached)."""
    return _engine_settings("docker-engine", "the docker spawner's tests need a Docker engine")


@pytest.fixture(scope="session")
def swarm_engine():
    """The same engine's settings once scripts/docker-swarm made it a single-node swarm manager."""
    return _engine_settings("docker-swarm", "the swarm spawner's tests need a swarm on the Docker engine")


@pytest.fixture(scope="session")
def kubernetes_control_plane():
    """The control plane's settings (KUBECONFIG, KUBERNETES_MODE, TOURNAMENT_IMAGE, ...) once
    scripts/kubernetes-build made the binaries (~35 minutes the first time, then cached) and
    scripts/kubernetes-control-plane started it (full mode: pods run; seconds once it runs)."""
    _engine_settings("kubernetes-build", "the kubernetes spawner's tests need Kubernetes built", timeout=3 * 3600)
    return _engine_settings("kubernetes-control-plane", "the kubernetes spawner's tests need a control plane")


@pytest.fixture
def engine(docker_engine):
    client = docker.DockerClient(base_url=docker_engine["DOCKER_HOST"], timeout=60)
    yield client
    client.close()


@pytest.fixture
def deployment(engine):
    """A deployment name of this test's own, so it sees only its containers; none may be left."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield name
    for container in engine.containers.list(all=True, filters={"label": f"{DEPLOYMENT}={name}"}):
        container.remove(force=True)


@pytest.fixture
def start_docker_orchestrator(start_orchestrator, docker_engine, deployment):
    def start(**env):
        settings = {"SPAWNER": "docker", "DOCKER_HOST": docker_engine["DOCKER_HOST"],
                    "TOURNAMENT_IMAGE": docker_engine["TOURNAMENT_IMAGE"], "DEPLOYMENT": deployment, **FAST_RESTARTS}
        return start_orchestrator(**{**settings, **env})
    return start

