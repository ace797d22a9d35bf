"""SPAWNER=swarm against a real single-node swarm: the private dockerd of scripts/docker-engine,
made a swarm manager by scripts/docker-swarm.

Nothing here skips: when the engine, the images or the swarm cannot be made, the tests fail and
say why. The journey routes by a host-mode published port (no ingress mesh: no IPVS here): the
task is on the engine's default bridge and reaches the test PostgreSQL and Redis through relays
on the bridge's gateway address.
"""
import time

import psutil
import pytest
import requests

from orchestrator.spawners.docker import DEPLOYMENT, GENERATION, PORT, TOURNAMENT
from tests.e2e.conftest import FAST_RESTARTS
from tests.e2e.helpers import assert_publish_refused, fleet_entry, gateway_address, relayed_services, restart_and_adopt, server_of
from tests.support.api import make_tournament, ok
from tests.support.processes import wait_until


def services(engine, deployment, tournament_id=None):
    labels = [f"{DEPLOYMENT}={deployment}"] + ([f"{TOURNAMENT}={tournament_id}"] if tournament_id else [])
    return engine.services.list(filters={"label": labels})


def containers(engine, deployment):
    return engine.containers.list(all=True, filters={"label": f"{DEPLOYMENT}={deployment}"})


def tasks(engine, service):
    return sorted(engine.api.tasks(filters={"service": service.id}), key=lambda task: task["CreatedAt"])


def current_container(engine, service):
    """The container of the task Swarm means to run, once it has one."""
    current = [task for task in tasks(engine, service) if task["DesiredState"] == "running"
               and (task["Status"].get("ContainerStatus") or {}).get("ContainerID")]
    return engine.containers.get(current[-1]["Status"]["ContainerStatus"]["ContainerID"]) if current else None


def answers(host, port):
    try:
        return requests.get(f"http://{host}:{port}/api/health", timeout=0.5).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def swarm_deployment(swarm_engine, engine, deployment):
    """This test's deployment on the swarm; its services are removed first (a container of a live
    service would only be replaced)."""
    yield deployment
    for service in services(engine, deployment):
        service.remove()


@pytest.fixture
def start_swarm_orchestrator(start_orchestrator, swarm_engine, swarm_deployment, engine, platform_env):
    """Orchestrators with SPAWNER=swarm, servers on the default bridge published in host mode."""
    bridge_gateway = gateway_address(engine.networks.get("bridge"))
    relays, urls = relayed_services(platform_env, bridge_gateway)

    def start(**env):
        settings = {"SPAWNER": "swarm", "DOCKER_HOST": swarm_engine["DOCKER_HOST"], "DOCKER_NETWORK": "bridge",
                    "TOURNAMENT_IMAGE": swarm_engine["TOURNAMENT_IMAGE"], "DEPLOYMENT": swarm_deployment,
                    **urls, **FAST_RESTARTS}
        return start_orchestrator(**{**settings, **env})
    yield start
    for relay in relays:
        relay.close()


def test_a_tournament_is_a_swarm_service_that_swarm_restarts_the_next_orchestrator_adopts_and_archive_removes(
        start_swarm_orchestrator, engine, swarm_deployment, database_url):
    deployment = swarm_deployment
    first = start_swarm_orchestrator()
    api = first.api
    tid = make_tournament(api, name="Swarm Cup")["id"]
    gateway = f"/t/{tid}"

    # Published: one service with one replica, labelled, limited, spread, published in host mode.
    began = time.monotonic()
    ok(api.post(f"/api/v1/tournaments/{tid}/publish"))
    assert ok(api.get(f"{gateway}/api/state"))["state"] == "REGISTRATION"
    print(f"\npublish (service created) -> first 200 through the gateway: {time.monotonic() - began:.2f}s")
    for number in (1, 2):
        ok(api.post(f"{gateway}/api/teams", {"name": f"Team {number}"}), 201)
    ok(api.post(f"{gateway}/api/start"))
    [service] = services(engine, deployment, tid)
    generation, host, port = server_of(database_url, tid)
    spec = service.attrs["Spec"]
    assert spec["Labels"][GENERATION] == str(generation) and spec["Labels"][PORT] == str(port)
    assert spec["Mode"] == {"Replicated": {"Replicas": 1}}
    template = spec["TaskTemplate"]
    assert template["Resources"]["Limits"] == {"NanoCPUs": 10 ** 9, "MemoryBytes": 256 * 2 ** 20, "Pids": 256}
    assert template["RestartPolicy"]["Condition"] == "any" and template["RestartPolicy"]["Delay"] == 0
    assert template["Placement"]["Preferences"] == [{"Spread": {"SpreadDescriptor": "node.id"}}]
    assert spec["EndpointSpec"] == {"Mode": "dnsrr", "Ports": [
        {"Protocol": "tcp", "TargetPort": 6000, "PublishedPort": port, "PublishMode": "host"}]}
    assert host == engine.info()["Swarm"]["NodeAddr"] == "127.0.0.1"  # the node's address
    container = current_container(engine, service)
    assert container.labels[GENERATION] == str(generation) and container.labels[TOURNAMENT] == tid
    assert container.attrs["HostConfig"]["Init"] is True and container.attrs["Config"]["User"] == "10001:10001"
    assert container.attrs["HostConfig"]["PidsLimit"] == 256
    # The supervisor checks health; the image's HEALTHCHECK (a Python every 10 s) does not run.
    assert template["ContainerSpec"]["Healthcheck"]["Test"] == ["NONE"] and "Health" not in container.attrs["State"]
    assert fleet_entry(api, tid)["status"] == "RUNNING"

    # Its container killed: Swarm starts another task of the same service (same generation, token
    # and port), the supervisor waits for it instead of starting a server of its own.
    killed_at, seen = time.monotonic(), {}

    def serving_again():
        if "replaced" not in seen and (current_container(engine, service) or container).id != container.id:
            seen["replaced"] = time.monotonic() - killed_at
        if "answers" not in seen and "replaced" in seen and answers(host, port):
            seen["answers"] = time.monotonic() - killed_at
        return "answers" in seen and api.get(f"{gateway}/api/state").status_code == 200
    container.kill()
    assert wait_until(serving_again, timeout=30)
    print(f"kill -> new container {seen['replaced']:.2f}s, it answers {seen['answers']:.2f}s, "
          f"through the gateway {time.monotonic() - killed_at:.2f}s")
    assert ok(api.get(f"{gateway}/api/state"))["state"] == "ACTIVE"
    assert server_of(database_url, tid) == (generation, host, port)
    assert [(t["Status"]["State"], t["DesiredState"]) for t in tasks(engine, service)] in (
        [("failed", "shutdown"), (state, "running")] for state in ("starting", "running"))
    assert wait_until(lambda: fleet_entry(api, tid)["status"] == "RUNNING", timeout=10)
    assert fleet_entry(api, tid)["restarts"] == 0  # the supervisor started nothing
    assert [s.id for s in services(engine, deployment)] == [service.id]

    # The orchestrator dies; the next one adopts the running service: same generation, nothing doubled.
    second = restart_and_adopt(first, start_swarm_orchestrator, tid)
    assert server_of(database_url, tid) == (generation, host, port)
    assert [s.id for s in services(engine, deployment)] == [service.id]
    assert len([t for t in tasks(engine, service) if t["DesiredState"] == "running"]) == 1
    assert ok(second.api.get(f"{gateway}/api/state"))["state"] == "ACTIVE"

    # Played to the end and archived: its service and every container of it are removed.
    final = ok(second.api.get(f"{gateway}/api/matches"))["items"][0]
    ok(second.api.post(f"{gateway}/api/matches/{final['id']}/result", {"winner": final["team1_id"], "scores": [1, 0]}))
    assert wait_until(lambda: ok(second.api.get(f"/api/v1/tournaments/{tid}"))["state"] == "COMPLETED")
    assert ok(second.api.post(f"/api/v1/tournaments/{tid}/archive"))["state"] == "ARCHIVED"
    assert services(engine, deployment) == [] and containers(engine, deployment) == []
    assert fleet_entry(second.api, tid)["status"] == "STOPPED"


def test_on_the_host_network_a_service_listens_on_loopback_only_and_a_clean_stop_removes_every_service(
        start_swarm_orchestrator, engine, swarm_deployment, database_url):
    orchestrator = start_swarm_orchestrator(DOCKER_NETWORK="host")
    api = orchestrator.api
    tids = [make_tournament(api, state="REGISTRATION", teams=1, name=f"Loopback Cup {n}")["id"] for n in range(2)]

    [service] = services(engine, swarm_deployment, tids[0])
    _, host, port = server_of(database_url, tids[0])
    assert [engine.networks.get(n["Target"]).name for n in service.attrs["Spec"]["TaskTemplate"]["Networks"]] == ["host"]
    assert "Ports" not in service.attrs["Spec"].get("EndpointSpec", {})  # nothing published
    assert (host, service.attrs["Spec"]["Labels"][PORT]) == ("127.0.0.1", str(port))
    assert ok(api.get(f"/t/{tids[0]}/api/state"))["state"] == "REGISTRATION"
    listening = {c.laddr for c in psutil.net_connections("tcp") if c.status == psutil.CONN_LISTEN and c.laddr.port == port}
    assert {address.ip for address in listening} == {"127.0.0.1"}

    orchestrator.stop()  # the last orchestrator: its fleet stops with it
    assert services(engine, swarm_deployment) == [] and containers(engine, swarm_deployment) == []


def test_a_service_whose_task_cannot_start_is_a_clear_503_and_leaves_nothing(
        start_swarm_orchestrator, engine, swarm_deployment):
    api = start_swarm_orchestrator(TOURNAMENT_IMAGE="tournament-platform/no-such-image:none").api
    assert_publish_refused(api, "No such image: tournament-platform/no-such-image:none")
    assert services(engine, swarm_deployment) == [] and containers(engine, swarm_deployment) == []


def test_when_swarm_gives_up_restarting_the_supervisor_starts_a_new_generation_and_removes_the_old_service(
        start_swarm_orchestrator, engine, swarm_deployment, database_url):
    api = start_swarm_orchestrator(DOCKER_NETWORK="host", SWARM_RESTART_ATTEMPTS="1").api
    tid = make_tournament(api, state="REGISTRATION", teams=1, name="Give-up Cup")["id"]
    [service] = services(engine, swarm_deployment, tid)
    generation = server_of(database_url, tid)[0]

    first = current_container(engine, service)
    first.kill()  # Swarm's one restart
    assert wait_until(lambda: (current_container(engine, service) or first).id != first.id
                      and answers(*server_of(database_url, tid)[1:]), timeout=30)
    assert server_of(database_url, tid)[0] == generation

    current_container(engine, service).kill()  # Swarm gives up: the supervisor takes over
    assert wait_until(lambda: server_of(database_url, tid)[0] not in (None, generation)
                      and api.get(f"/t/{tid}/api/state").status_code == 200, timeout=30)
    assert ok(api.get(f"/t/{tid}/api/state"))["state"] == "REGISTRATION"
    assert fleet_entry(api, tid)["restarts"] == 1
    # Removed by the next round's reap, well before the orphan sweep's 10 s grace would.
    assert wait_until(lambda: [s.attrs["Spec"]["Labels"][GENERATION] for s in services(engine, swarm_deployment)]
                      == [str(server_of(database_url, tid)[0])], timeout=5)


def test_without_an_engine_the_orchestrator_serves_and_a_publish_is_a_503_naming_it(start_orchestrator, tmp_path):
    api = start_orchestrator(SPAWNER="swarm", DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock").api
    assert_publish_refused(api, "the Docker engine did not run the service")
