"""The docker backend (SPAWNER=docker): each tournament's server is a container of TOURNAMENT_IMAGE.

A container carries labels: the deployment (DEPLOYMENT, so several platforms can share an engine),
the tournament id, and a generation, a fresh number per start that the fleet records in place of a
process id. Whatever the supervisor asks about an instance (is it running, its CPU time, stop it)
it finds by those labels, so an orchestrator that restarts adopts the containers it finds: their
health check still answers with the token of the start the fleet recorded. The engine restarts
nothing itself (no restart policy): the supervisor does, as for any backend.

Networking, DOCKER_NETWORK:
- `host` (the default, and what the tests use): the container shares the host's network, listens
  on TOURNAMENT_HOST at a port of TOURNAMENT_PORTS, and reaches DATABASE_URL / REDIS_URL as the
  orchestrator does (127.0.0.1 included). Routing is host:port, as for subprocesses.
- any other name: a network of that name (compose's private one); the container listens on 6000
  and is routed to by its address there, so the orchestrator must be on that network too and the
  database and Redis reachable from it (docker-compose.yml: the project's network;
  tests/e2e/test_compose.py and a network of its own in test_docker_spawner.py).

Limits: DOCKER_MEMORY, DOCKER_CPUS and DOCKER_PIDS per container; an init (tini) is PID 1.
"""
import logging
import re
import secrets
import threading
import time
from datetime import datetime, timezone

import docker
import requests
from docker.errors import APIError, DockerException, NotFound

from orchestrator.spawners import ServerHandle, SpawnError, Spawner
from orchestrator.spawners.subprocess import port_is_free
from shared import logs

log = logging.getLogger(__name__)

LABEL = "org.tournament-platform."
DEPLOYMENT, TOURNAMENT, GENERATION, PORT = (LABEL + name for name in ("deployment", "tournament", "generation", "port"))
CONTAINER_PORT = 6000  # inside a container on a network of its own
# What an unreachable or refusing engine raises (a missing socket is a requests ConnectionError).
ENGINE_ERRORS = (DockerException, requests.RequestException)


class DockerSpawner(Spawner):
    """`client` is a docker.DockerClient, or a function that makes one at first use (so an
    orchestrator starts, and answers 503 at publish, while the engine is away)."""

    unit = "container"  # what the engine runs a server as, in messages
    engine = "the Docker engine"
    engine_errors = ENGINE_ERRORS  # what an engine that is away or refuses raises

    def __init__(self, client, image, env, deployment="default", network="host", host="127.0.0.1",
                 port_range=(6001, 6999), memory="256m", cpus=1.0, pids=256, start_timeout=20.0,
                 stop_timeout=5.0):
        self._client = client
        self.image = image
        self.env = env
        self.deployment = deployment
        self.network = network
        self.host = host
        self.ports = range(port_range[0], port_range[1] + 1)
        self.limits = {"mem_limit": memory, "nano_cpus": int(cpus * 1e9), "pids_limit": pids}
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._starting_ports = set()  # chosen but maybe not bound yet
        self._started = set()  # (tournament id, generation) this object started, for stop_all
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings, env):
        """Built from the orchestrator's settings; refuses what a container could not reach."""
        backend, database, redis = settings.get("SPAWNER", "docker"), env["DATABASE_URL"], env["REDIS_URL"] or ""
        if database.startswith("sqlite") or not redis.startswith(("redis://", "rediss://")):
            raise RuntimeError(f"SPAWNER={backend} needs DATABASE_URL (PostgreSQL) and REDIS_URL (redis:// over TCP) "
                               "that a container can reach: the embedded SQLite and Redis live in the "
                               "orchestrator's instance folder")
        # The orchestrator's instance folder doesn't exist in the container; nothing there is needed
        # once both URLs and GATEWAY_SECRET are given.
        env = {name: value for name, value in env.items() if name != "INSTANCE_PATH"}
        where = settings["DOCKER_HOST"]

        def connect():
            # The API version is asked of the engine (this connects), so any engine version works.
            return docker.DockerClient(base_url=where, timeout=30) if where else docker.from_env(timeout=30)
        return cls(connect, settings["TOURNAMENT_IMAGE"], env, settings["DEPLOYMENT"], settings["DOCKER_NETWORK"],
                   settings["TOURNAMENT_HOST"], settings["TOURNAMENT_PORTS"], settings["DOCKER_MEMORY"],
                   settings["DOCKER_CPUS"], settings["DOCKER_PIDS"], settings["SPAWN_TIMEOUT"])

    @property
    def client(self):
        if callable(self._client):
            try:
                self._client = self._client()
            except DockerException as exc:
                raise DockerException(f"no Docker engine answers: {exc}") from None
        return self._client

    # ---- starting ------------------------------------------------------------------------------

    def start(self, tournament_id, taken_ports=(), on_launch=None):
        token, generation = secrets.token_hex(16), secrets.randbelow(2 ** 31 - 2) + 1
        port = None
        try:
            if self._needs_host_port():
                port = self._reserve_port(taken_ports)
            container = self._run(tournament_id, generation, token, port)
        except self.engine_errors as exc:
            self._release_port(port)
            try:
                self.stop(generation, tournament_id)  # created but not started, say
            except self.engine_errors:
                pass  # the engine is away: nothing of this start runs
            raise SpawnError(f"{self.engine} did not run the {self.unit}: {exc}") from None
        try:
            host, routed_port = self._route(container, port)
            handle = ServerHandle(tournament_id, host, routed_port, generation, token, datetime.now(timezone.utc))
            if on_launch is not None and on_launch(handle) is False:
                raise SpawnError("another start of this tournament's server took over")
            self._wait_ready(handle, container)
        except BaseException as exc:
            try:
                self.stop(generation, tournament_id)
            except self.engine_errors as away:
                log.warning("could not stop the %s of a failed start of %s: %s", self.unit, tournament_id, away)
            if isinstance(exc, (SpawnError, *self.engine_errors)):
                raise SpawnError(str(exc), pid=generation) from None
            raise
        finally:
            self._release_port(port)
        return handle

    def _needs_host_port(self):
        """True when the server takes a port of TOURNAMENT_PORTS on the host (its network)."""
        return self.network == "host"

    def _route(self, container, port):
        """(host, port) the gateway reaches the server at."""
        return (self.host, port) if self.network == "host" else (self._address(container), CONTAINER_PORT)

    def _reserve_port(self, taken_ports):
        with self._lock:
            ours = set(self._starting_ports) | self._ports_of_running()
            for port in self.ports:
                if port not in taken_ports and port not in ours and port_is_free(self.host, port):
                    self._starting_ports.add(port)
                    return port
        raise SpawnError(f"no free port in {self.ports.start}-{self.ports.stop - 1}")

    def _release_port(self, port):
        with self._lock:
            self._starting_ports.discard(port)

    def _ports_of_running(self):
        """Ports of this deployment's containers: one that just started may not have bound yet."""
        return {int(labels[PORT]) for labels in self._running_labels() if labels.get(PORT, "").isdigit()}

    def _labels_and_env(self, tournament_id, generation, token, port):
        """What finds a server (labels) and what it is told (environment); `port` is the host's
        port it takes, if any."""
        labels = {DEPLOYMENT: self.deployment, TOURNAMENT: tournament_id, GENERATION: str(generation)}
        env = {**self.env, "TOURNAMENT_ID": tournament_id, "SERVER_TOKEN": token}
        if port is not None:
            labels[PORT] = str(port)
        if self.network == "host":
            env.update(SERVER_HOST=self.host, SERVER_PORT=str(port))
        else:
            env.update(SERVER_HOST="0.0.0.0", SERVER_PORT=str(CONTAINER_PORT))
        return labels, env

    def _run(self, tournament_id, generation, token, port):
        labels, env = self._labels_and_env(tournament_id, generation, token, port)
        networking = {"network_mode": "host"} if self.network == "host" else {"network": self.network}
        with self._lock:
            self._started.add((tournament_id, generation))
        # create + start, not run: run pulls a missing image, and an image is built, never pulled.
        container = self.client.containers.create(
            self.image, detach=True, name=_container_name(self.deployment, tournament_id, generation),
            labels=labels, environment=env, init=True, stop_signal="SIGTERM",
            # The supervisor checks health itself; the image's HEALTHCHECK (for the image run by
            # hand) would start a Python every 10 s in every container, ~1% of a core each.
            healthcheck={"test": ["NONE"]},
            log_config={"type": "json-file", "config": {"max-size": "10m", "max-file": "3"}},
            **networking, **self.limits)
        container.start()
        return container

    def _address(self, container):
        container.reload()
        address = container.attrs["NetworkSettings"]["Networks"].get(self.network, {}).get("IPAddress")
        if not address:
            raise SpawnError(f"the container has no address on network {self.network}")
        return address

    def _wait_ready(self, handle, container):
        def exited():
            container.reload()
            if container.status in ("exited", "dead"):
                code = container.attrs["State"].get("ExitCode")
                return f"tournament server container exited with code {code}: {_last_error(container)}"
        self.wait_answering(handle, exited, "tournament server container")

    # ---- finding ---------------------------------------------------------------------------------

    def _label_filter(self, tournament_id=None, generation=None):
        """["label=value", ...] that pick this deployment's servers (of a tournament, a generation)."""
        labels = [f"{DEPLOYMENT}={self.deployment}"]
        if tournament_id is not None:
            labels.append(f"{TOURNAMENT}={tournament_id}")
        if generation is not None:
            labels.append(f"{GENERATION}={generation}")
        return labels

    def _containers(self, tournament_id=None, generation=None, running_only=True):
        filters = {"label": self._label_filter(tournament_id, generation)}
        if running_only:
            filters["status"] = "running"
        # ignore_removed: the list inspects each container, and one removed meanwhile (reaped, a
        # failed start cleaned up) made a concurrent start fail with a 404.
        return self.client.containers.list(all=not running_only, filters=filters, ignore_removed=True)

    def _running_labels(self):
        """The labels of this deployment's running containers, from one list call: the SDK's
        `containers.list` inspects every container it lists, one request each, which made the
        supervisor's liveness listing of 200 containers take most of its round."""
        filters = {"label": self._label_filter(), "status": "running"}
        return [entry.get("Labels") or {} for entry in self.client.api.containers(filters=filters)]

    def _find(self, pid, tournament_id, running_only=False):
        found = self._containers(tournament_id, pid, running_only) if pid else []
        return found[0] if found else None

    def is_running(self, pid, tournament_id):
        return self._find(pid, tournament_id, running_only=True) is not None

    def cpu_seconds(self, pid, tournament_id):
        container = self._find(pid, tournament_id, running_only=True)
        if container is None:
            return None
        return container_cpu_seconds(container)

    def running_servers(self):
        found = {}
        for labels in self._running_labels():
            generation = labels.get(GENERATION, "")
            if generation.isdigit() and TOURNAMENT in labels:
                found.setdefault(labels[TOURNAMENT], []).append(int(generation))
        return found

    # ---- stopping ---------------------------------------------------------------------------------

    def stop(self, pid, tournament_id):
        container = self._find(pid, tournament_id)
        if container is None:
            return
        try:
            container.stop(timeout=int(self.stop_timeout))
        except NotFound:
            return
        except APIError as exc:
            log.warning("stopping %s: %s", container.name, exc)
        _remove(container)

    def stop_many(self, instances, grace_seconds):
        containers = [c for c in (self._find(pid, tid) for tid, pid in instances) if c is not None]
        for container in containers:
            _signal(container, "SIGTERM")
        deadline = time.monotonic() + grace_seconds
        waiting = list(containers)
        while waiting and time.monotonic() < deadline:
            waiting = [c for c in waiting if _still_running(c)]
            if waiting:
                time.sleep(0.1)
        for container in containers:
            _remove(container)  # force: kills what still runs

    def stop_all(self):
        with self._lock:
            started, self._started = sorted(self._started), set()
        self.stop_many(started, self.stop_timeout)

    def reap(self):
        """Remove this deployment's containers that exited: the supervisor never restarts one, it
        starts a new generation (their last lines are logged first)."""
        # Only the exited are listed (and so inspected): a round's reap costs one list call.
        filters = {"label": self._label_filter(), "status": ["exited", "dead"]}
        try:
            found = self.client.containers.list(all=True, filters=filters, ignore_removed=True)
        except ENGINE_ERRORS as exc:  # the round goes on: servers may still answer their checks
            log.warning("the Docker engine does not answer: %s", exc)
            return
        for container in found:
            log.info("removing exited container %s (code %s): %s", container.name,
                     container.attrs["State"].get("ExitCode"), _last_error(container))
            _remove(container)

    def ask_to_stop(self, pid, tournament_id):
        container = self._find(pid, tournament_id, running_only=True)
        return container is not None and _signal(container, "SIGTERM")

    def force_stop(self, pid, tournament_id):
        container = self._find(pid, tournament_id)
        if container is None:
            return False
        _remove(container)
        return True


def _container_name(deployment, tournament_id, generation):
    """A readable, unique name; the labels, not the name, are what anything is found by."""
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", f"tp-{deployment}-{tournament_id}-{generation}")[:200]


def _last_error(container):
    """The exception line of the container's last traceback, else its last output line."""
    try:
        return error_line(container.logs(tail=40))
    except APIError:
        return "(no logs)"


def error_line(output):
    """The last exception in a server's output (bytes): a JSON log line's (`Type: message`) or a
    printed traceback's last line; else its last line."""
    lines = output.decode(errors="replace").strip().splitlines()
    errors = [logs.exception_of(line) or line for line in lines
              if logs.exception_of(line) or re.match(r"^[\w.]+(Error|Exception|Exit)\b", line)]
    return ((errors or lines or ["(no output)"])[-1])[-300:]


def container_cpu_seconds(container):
    """CPU time a container used so far; None when it cannot tell."""
    try:
        stats = container.stats(stream=False, one_shot=True)
        return stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9
    except (APIError, KeyError, TypeError):
        return None


def _signal(container, signal_name):
    try:
        container.kill(signal=signal_name)
    except (NotFound, APIError):  # gone, or not running any more
        return False
    return True


def _still_running(container):
    try:
        container.reload()
    except NotFound:
        return False
    return container.status == "running"


def _remove(container):
    try:
        container.remove(force=True)
    except NotFound:
        pass
    except APIError as exc:  # "removal already in progress": someone else is removing it
        log.info("removing %s: %s", container.name, exc)
