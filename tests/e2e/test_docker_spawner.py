"""SPAWNER=docker against a real Docker engine: the private dockerd of scripts/docker-engine.

Nothing here skips: when the engine or the images cannot be made, the tests fail and say why.
The containers share the host's network (DOCKER_NETWORK=host), so they reach the test PostgreSQL
and Redis on 127.0.0.1 like subprocess servers do.
"""
import docker
import pytest

from orchestrator.spawners import make_spawner
from orchestrator.spawners.docker import DEPLOYMENT, GENERATION, TOURNAMENT, DockerSpawner
from tests.e2e.helpers import assert_publish_refused, containers, fleet_entry, gateway_address, relayed_services, server_of
from tests.support.api import make_tournament, ok
from tests.support.processes import wait_until


def test_a_tournament_lives_in_a_container_that_is_restarted_adopted_and_removed(
        start_docker_orchestrator, engine, deployment, database_url):
    first = start_docker_orchestrator()
    api = first.api
    tid = make_tournament(api, state="ACTIVE", teams=2, name="Container Cup")["id"]
    gateway = f"/t/{tid}"

    # Published: one container, labelled, limited, unprivileged, answering through the gateway.
    assert ok(api.get(f"{gateway}/api/state"))["state"] == "ACTIVE"
    [container] = containers(engine, deployment, tid)
    generation, host, port = server_of(database_url, tid)
    assert container.labels[GENERATION] == str(generation)
    assert (host, container.labels["org.tournament-platform.port"]) == ("127.0.0.1", str(port))
    config = container.attrs["HostConfig"]
    assert (config["Memory"], config["NanoCpus"], config["PidsLimit"], config["Init"]) == (256 * 2 ** 20, 10 ** 9, 256, True)
    assert container.attrs["Config"]["User"] == "10001:10001"
    assert container.attrs["Config"]["Healthcheck"]["Test"] == ["NONE"]  # the supervisor's checks only
    assert fleet_entry(api, tid)["status"] == "RUNNING"

    # Killed: the supervisor starts a new generation, with the tournament's state intact.
    container.kill()
    assert wait_until(lambda: api.get(f"{gateway}/api/state").status_code == 200
                      and server_of(database_url, tid)[0] not in (None, generation), timeout=30)
    assert ok(api.get(f"{gateway}/api/state"))["state"] == "ACTIVE"
    entry = fleet_entry(api, tid)
    assert entry["status"] == "RUNNING" and entry["restarts"] == 1
    [second_container] = containers(engine, deployment, tid)
    assert second_container.id != container.id
    # The killed one is removed, not left exited.
    assert wait_until(lambda: len(containers(engine, deployment, tid, running_only=False)) == 1, timeout=10)

    # The orchestrator dies; the next one adopts the running container: same generation, nothing doubled.
    restarted_generation = server_of(database_url, tid)[0]
    first.kill9()
    second = start_docker_orchestrator()
    second.api = second.api.__class__(second.url).login(api.user["username"], register=False)
    assert wait_until(lambda: (fleet_entry(second.api, tid) or {}).get("status") == "RUNNING"
                      and fleet_entry(second.api, tid)["last_check_at"] != entry["last_check_at"], timeout=20)
    assert server_of(database_url, tid)[0] == restarted_generation
    assert fleet_entry(second.api, tid)["restarts"] == 1
    assert [c.id for c in containers(engine, deployment, tid, running_only=False)] == [second_container.id]

    # Played to the end and archived: its container is removed.
    final = ok(second.api.get(f"{gateway}/api/matches"))["items"][0]
    ok(second.api.post(f"{gateway}/api/matches/{final['id']}/result", {"winner": final["team1_id"], "scores": [1, 0]}))
    assert wait_until(lambda: ok(second.api.get(f"/api/v1/tournaments/{tid}"))["state"] == "COMPLETED")
    assert ok(second.api.post(f"/api/v1/tournaments/{tid}/archive"))["state"] == "ARCHIVED"
    assert containers(engine, deployment, running_only=False) == []
    assert fleet_entry(second.api, tid)["status"] == "STOPPED"


def test_a_clean_stop_of_the_last_orchestrator_removes_its_containers(start_docker_orchestrator, engine, deployment):
    orchestrator = start_docker_orchestrator()
    for number in range(2):
        make_tournament(orchestrator.api, state="REGISTRATION", teams=1, name=f"Stop Cup {number}")
    assert len(containers(engine, deployment)) == 2
    orchestrator.stop()
    assert containers(engine, deployment, running_only=False) == []


def test_a_server_that_cannot_start_in_its_container_is_a_clear_503_and_leaves_nothing(
        start_docker_orchestrator, engine, deployment):
    api = start_docker_orchestrator(TOURNAMENT_IMAGE="tournament-platform/no-such-image:none").api
    assert_publish_refused(api, "no-such-image")
    assert containers(engine, deployment, running_only=False) == []


def test_the_docker_spawner_refuses_an_embedded_database_or_redis(tmp_path):
    settings = {"SPAWNER": "docker", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "REDIS_URL": "redis://127.0.0.1/0",
                "METRICS_TOKEN": "",  # main's spawner_env reads it
                "REDIS_NAMESPACE": "", "SSE_HEARTBEAT_SECONDS": 15, "GATEWAY_SECRET": "x" * 32}
    with pytest.raises(RuntimeError, match="SPAWNER=docker needs DATABASE_URL"):
        make_spawner(settings, str(tmp_path))
    settings.update(DATABASE_URL="postgresql://u@127.0.0.1/d", REDIS_URL=f"unix://{tmp_path}/redis.sock")
    with pytest.raises(RuntimeError, match="SPAWNER=docker needs DATABASE_URL"):
        make_spawner(settings, str(tmp_path))
    with pytest.raises(RuntimeError, match="SPAWNER='nomad': expected one of subprocess, docker"):
        make_spawner({**settings, "SPAWNER": "nomad"}, str(tmp_path))


def test_a_container_of_a_known_tournament_that_the_fleet_does_not_record_is_swept(
        start_docker_orchestrator, engine, deployment, docker_engine, database_url):
    api = start_docker_orchestrator(ORPHAN_GRACE="5", ORPHAN_SWEEP_EVERY="1").api
    tid = make_tournament(api, state="REGISTRATION", teams=1, name="Orphan Cup")["id"]
    generation = server_of(database_url, tid)[0]
    # A leftover of an interrupted start, say: same tournament, another generation, busy working.
    orphan = engine.containers.run(
        docker_engine["TOURNAMENT_IMAGE"], ["python", "-c", "while True: pass"], detach=True, init=True,
        labels={DEPLOYMENT: deployment, TOURNAMENT: tid, GENERATION: "7"}, nano_cpus=5 * 10 ** 8)

    # The spawner's view of it, within the sweep's 5 s grace.
    spawner = DockerSpawner(engine, docker_engine["TOURNAMENT_IMAGE"], {}, deployment)
    assert {t: sorted(g) for t, g in spawner.running_servers().items()} == {tid: sorted([generation, 7])}
    assert spawner.is_running(7, tid) and not spawner.is_running(7, "t_someone_else")
    assert wait_until(lambda: (spawner.cpu_seconds(7, tid) or 0) > 0.05, timeout=10)

    def orphan_gone():
        try:
            orphan.reload()
        except docker.errors.NotFound:
            return True
        return False
    assert wait_until(orphan_gone, timeout=20)
    assert server_of(database_url, tid)[0] == generation  # the recorded server is untouched
    assert [c.labels[GENERATION] for c in containers(engine, deployment, tid)] == [str(generation)]


@pytest.fixture
def private_network(engine, deployment, platform_env):
    """A bridge network of this test's own, and the database and Redis URLs its containers reach
    them at: relays on the network's gateway address to the test servers on 127.0.0.1."""
    network = engine.networks.create(f"tp-{deployment}", driver="bridge", labels={DEPLOYMENT: deployment})
    network.reload()
    relays, urls = relayed_services(platform_env, gateway_address(network))
    yield network, urls
    for container in engine.containers.list(all=True, filters={"label": f"{DEPLOYMENT}={deployment}"}):
        container.remove(force=True)
    network.remove()
    for relay in relays:
        relay.close()


def test_on_a_network_of_its_own_a_server_is_routed_to_by_its_container_address(
        start_docker_orchestrator, engine, deployment, private_network, database_url):
    network, urls = private_network
    api = start_docker_orchestrator(DOCKER_NETWORK=network.name, **urls).api
    tid = make_tournament(api, state="ACTIVE", teams=2, name="Network Cup")["id"]

    [container] = containers(engine, deployment, tid)
    address = container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
    assert server_of(database_url, tid)[1:] == (address, 6000)
    assert container.attrs["HostConfig"]["PortBindings"] in (None, {})  # nothing published on the host
    assert ok(api.get(f"/t/{tid}/api/state"))["state"] == "ACTIVE"

    container.kill()
    assert wait_until(lambda: api.get(f"/t/{tid}/api/state").status_code == 200
                      and server_of(database_url, tid)[0] not in (None, int(container.labels[GENERATION])), timeout=30)
    [restarted] = containers(engine, deployment, tid)
    assert server_of(database_url, tid)[1] == restarted.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
    ok(api.post(f"/api/v1/tournaments/{tid}/cancel"))
    assert containers(engine, deployment, running_only=False) == []


def test_without_an_engine_the_orchestrator_serves_and_a_publish_is_a_503_naming_it(start_orchestrator, tmp_path):
    api = start_orchestrator(SPAWNER="docker", DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock").api
    assert_publish_refused(api, "Docker engine")
