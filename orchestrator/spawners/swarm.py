"""The swarm backend (SPAWNER=swarm): each tournament's server is a Docker Swarm service of
TOURNAMENT_IMAGE with one replica, on an engine that is a swarm manager.

It is the docker backend (spawners/docker.py) with a service in place of a container: the same
labels (deployment, tournament id, generation, port) on the service and on its task's container,
the same limits, an init as PID 1, the supervisor's own health check with the token of the start
(the image's HEALTHCHECK is off, as for containers: a Python started every 10 s in every task, ~1%
of a core each, and under load its 3 s timeout had Swarm kill servers that were only slow). What
differs is who restarts: Swarm does, at once (restart delay 0), when the container dies, with
the same token and port, so the fleet keeps the generation it recorded; the supervisor reads the
task state (`is_restarting`) and waits for it instead of starting another. When Swarm gives up
(SWARM_RESTART_ATTEMPTS within a minute) no task is meant to run any more, and the supervisor
starts a new generation as for any backend.

Networking, DOCKER_NETWORK:
- `host` (the default): the service's task shares the node's network and listens on
  TOURNAMENT_HOST at a port of TOURNAMENT_PORTS (loopback only), as the docker backend does.
- any other name: the task listens on 6000 in its own network namespace (`bridge`: the engine's
  default bridge; another name: that swarm network) and is published in host mode at a port of
  TOURNAMENT_PORTS on its node, routed at that node's address. Host mode binds every interface
  of the node (Swarm has no host address for a published port), and the ingress routing mesh
  and VIP are not used: this kernel has no IPVS. Endpoint mode is dnsrr for the same reason.

Placement: a spread preference over SWARM_SPREAD (node.id); the scheduler also puts a new task on
the node that runs the fewest, which is what spreads one-replica services across nodes.
"""
import logging
import time

from docker.errors import APIError, DockerException, NotFound
from docker.types import EndpointSpec, Healthcheck, Resources, RestartPolicy, ServiceMode
from docker.utils import parse_bytes

from orchestrator.spawners import SpawnError
from orchestrator.spawners.docker import (CONTAINER_PORT, ENGINE_ERRORS, GENERATION, PORT, TOURNAMENT,
                                          DockerSpawner, _container_name, container_cpu_seconds, error_line)

log = logging.getLogger(__name__)

SERVICE_LABEL = "com.docker.swarm.service.id"  # on every container of a service's tasks
ENDED = ("complete", "failed", "shutdown", "rejected", "orphaned", "remove")


class SwarmSpawner(DockerSpawner):
    unit = "service"
    spread = "node.id"
    restart_attempts = 3

    @classmethod
    def from_settings(cls, settings, env):
        spawner = super().from_settings(settings, env)
        spawner.spread = settings.get("SWARM_SPREAD") or cls.spread
        spawner.restart_attempts = int(settings.get("SWARM_RESTART_ATTEMPTS") or cls.restart_attempts)
        return spawner

    @property
    def client(self):
        """The engine's client, once it is known to be a swarm manager (checked at first use, as
        the docker backend connects: an orchestrator starts without one, a publish is a 503)."""
        maker = self._client if callable(self._client) else None
        client = DockerSpawner.client.fget(self)
        if maker is not None:
            try:
                swarm = client.info().get("Swarm", {})
            except ENGINE_ERRORS:
                self._client = maker
                raise
            if not swarm.get("ControlAvailable"):
                self._client = maker  # asked again at the next use: `docker swarm init` may come
                raise DockerException(f"the Docker engine is not a swarm manager ({swarm.get('LocalNodeState')}): "
                                      f"run `docker swarm init` there")
        return client

    # ---- starting ------------------------------------------------------------------------------

    def _needs_host_port(self):
        return True  # the node's port: the one it listens on (host network) or is published at

    def _run(self, tournament_id, generation, token, port):
        labels, env = self._labels_and_env(tournament_id, generation, token, port)
        if self.network == "host":
            networking = {"networks": ["host"]}
        else:
            networking = {"endpoint_spec": EndpointSpec(mode="dnsrr", ports={port: (CONTAINER_PORT, "tcp", "host")}),
                          "networks": [] if self.network == "bridge" else [self.network]}
        resources = Resources(cpu_limit=self.limits["nano_cpus"], mem_limit=parse_bytes(self.limits["mem_limit"]))
        resources["Limits"]["Pids"] = self.limits["pids_limit"]  # API 1.41; the SDK has no argument for it
        with self._lock:
            self._started.add((tournament_id, generation))
        # Not `create` with a registry lookup: the image is built on the node, never pulled.
        return self.client.services.create(
            self.image, name=_service_name(self.deployment, tournament_id, generation), labels=labels,
            container_labels=labels, env=[f"{name}={value}" for name, value in env.items()], init=True,
            stop_signal="SIGTERM", stop_grace_period=int(self.stop_timeout * 1e9), resources=resources,
            mode=ServiceMode("replicated", replicas=1),
            restart_policy=RestartPolicy(condition="any", delay=0, max_attempts=self.restart_attempts,
                                         window=60 * 10 ** 9),
            preferences=[("spread", self.spread)], healthcheck=Healthcheck(test=["NONE"]),
            log_driver="json-file", log_driver_options={"max-size": "10m", "max-file": "3"}, **networking)

    def _route(self, service, port):
        """The node's own port: loopback on the host network, else the address of the node the
        task was placed on."""
        if self.network == "host":
            return self.host, port
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            placed = [task["NodeID"] for task in _tasks(self.client, service.id) if task.get("NodeID")]
            if placed:
                return self.client.nodes.get(placed[-1]).attrs["Status"]["Addr"], port
            time.sleep(0.05)
        raise SpawnError(f"Swarm placed the service on no node within {self.start_timeout:.0f}s")

    def _wait_ready(self, handle, service):
        def ended():
            done = [task for task in _tasks(self.client, service.id) if task["Status"]["State"] in ENDED]
            if done:
                status = done[-1]["Status"]
                return (f"tournament server task {status['State']}: {status.get('Err') or status.get('Message')}"
                        f" ({self._last_output(service)})")
        self.wait_answering(handle, ended, "tournament server service")

    def _last_output(self, service):
        try:
            return error_line(b"".join(service.logs(stdout=True, stderr=True, tail=40)))
        except APIError:
            return "(no logs)"

    def _ports_of_running(self):
        return {int(s.attrs["Spec"]["Labels"][PORT]) for s in self._services()
                if s.attrs["Spec"]["Labels"].get(PORT, "").isdigit()}

    # ---- finding ---------------------------------------------------------------------------------

    def _services(self, tournament_id=None, generation=None):
        return self.client.services.list(filters={"label": self._label_filter(tournament_id, generation)})

    def _find(self, pid, tournament_id, running_only=False):
        found = self._services(tournament_id, pid) if pid else []
        return found[0] if found else None

    def _current_task(self, pid, tournament_id):
        """The task Swarm means to run for the instance (a replacement while it restarts one),
        or None when there is no such service or Swarm gave up on it."""
        service = self._find(pid, tournament_id)
        if service is None:
            return None
        tasks = _tasks(self.client, service.id, desired="running")
        return tasks[-1] if tasks else None

    def is_running(self, pid, tournament_id):
        return self._current_task(pid, tournament_id) is not None

    def is_restarting(self, pid, tournament_id):
        task = self._current_task(pid, tournament_id)
        return task is not None and task["Status"]["State"] != "running"

    def cpu_seconds(self, pid, tournament_id):
        task = self._current_task(pid, tournament_id)
        container_id = ((task or {}).get("Status", {}).get("ContainerStatus") or {}).get("ContainerID")
        try:  # a task on another node has no container on this engine
            return container_cpu_seconds(self.client.containers.get(container_id)) if container_id else None
        except (NotFound, APIError):
            return None

    def running_servers(self):
        found = {}
        for service in self._services():
            labels = service.attrs["Spec"]["Labels"]
            if labels.get(GENERATION, "").isdigit():
                found.setdefault(labels[TOURNAMENT], []).append(int(labels[GENERATION]))
        return found

    # ---- stopping ---------------------------------------------------------------------------------

    def stop(self, pid, tournament_id):
        self.stop_many([(tournament_id, pid)], self.stop_timeout)

    def stop_many(self, instances, grace_seconds):
        """Remove the services (Swarm sends SIGTERM, then SIGKILL after the grace period), wait
        for their containers to go, and force-remove what is left after the grace."""
        services = [s for s in (self._find(pid, tid) for tid, pid in instances) if s is not None]
        for service in services:
            _remove(service)
        deadline = time.monotonic() + grace_seconds + 1
        while time.monotonic() < deadline and self._containers_of(services):
            time.sleep(0.1)
        for container in self._containers_of(services):
            _remove(container, force=True)

    def _containers_of(self, services):
        ids = [f"{SERVICE_LABEL}={service.id}" for service in services]
        found = []
        for label in ids:  # label filters are ANDed: one query per service
            found += self.client.containers.list(all=True, sparse=True, filters={"label": label})
        return found

    def reap(self):
        """Remove this deployment's services that Swarm gave up restarting (every task ended, none
        meant to run): the supervisor then starts a new generation. Their last error is logged."""
        try:
            tasks, services = _tasks(self.client), self._services()
        except ENGINE_ERRORS as exc:  # the round goes on: servers may still answer their checks
            log.warning("the Docker engine does not answer: %s", exc)
            return
        for service in services:
            own = [task for task in tasks if task["ServiceID"] == service.id]
            if own and all(task["DesiredState"] != "running" for task in own):
                status = own[-1]["Status"]
                log.info("removing service %s that Swarm gave up on: %s (%s)", service.name,
                         status.get("Err") or status.get("Message"), self._last_output(service))
                self.stop_many([(service.attrs["Spec"]["Labels"][TOURNAMENT],
                                 service.attrs["Spec"]["Labels"][GENERATION])], self.stop_timeout)

    def ask_to_stop(self, pid, tournament_id):
        service = self._find(pid, tournament_id)
        return service is not None and _remove(service)

    def force_stop(self, pid, tournament_id):
        service = self._find(pid, tournament_id)
        if service is None:
            return False
        _remove(service)
        for container in self._containers_of([service]):
            _remove(container, force=True)
        return True


def _service_name(deployment, tournament_id, generation):
    """A readable, unique name as Swarm allows it (letters, digits, dashes; 63 characters)."""
    return _container_name(deployment, tournament_id, generation).replace("_", "-").replace(".", "-")[-63:].lstrip("-")


def _tasks(client, service_id=None, desired=None):
    """The tasks of a service (or of every service), oldest first."""
    filters = {"service": service_id} if service_id else {}
    if desired:
        filters["desired-state"] = desired
    return sorted(client.api.tasks(filters=filters), key=lambda task: task["CreatedAt"])


def _remove(thing, force=False):
    try:
        thing.remove(**({"force": True} if force else {}))
    except NotFound:
        return False
    except APIError as exc:  # already being removed
        log.info("removing %s: %s", getattr(thing, "name", thing.id), exc)
    return True
