"""Spawners start, find and stop tournament servers; SPAWNER picks the backend, one module each:

- `subprocess` (the default): a local process per tournament (spawners/subprocess.py);
- `docker`: a container per tournament on a Docker engine (spawners/docker.py);
- `swarm`: a one-replica Docker Swarm service per tournament (spawners/swarm.py);
- `kubernetes`: a one-replica Deployment and a Service per tournament (spawners/kubernetes.py).

Every backend has the interface of `Spawner` below, and the fleet, the supervisor, the gateway and
shutdown use nothing else: they know a server by its tournament id, the `instance` number the
fleet records in `tournament_servers.pid` (a process id for subprocess, a generation for docker,
swarm and kubernetes),
and the host:port it answers on. Health is always our own check: /api/health answering with the
tournament id and the token handed to that start.
"""
import json
import time
from dataclasses import dataclass
from datetime import datetime

from orchestrator.spawners.health_probe import HealthProbe

BACKENDS = ("subprocess", "docker", "swarm", "kubernetes")


class SpawnError(Exception):
    """A tournament server did not come up; `pid` is the instance that was launched (and stopped
    again), None when none was."""

    def __init__(self, message, pid=None):
        super().__init__(message)
        self.pid = pid


@dataclass
class ServerHandle:
    tournament_id: str
    host: str
    port: int
    pid: int  # the instance: a process id, or a container's generation
    token: str
    started_at: datetime

    @property
    def endpoint(self):
        return f"{self.host}:{self.port}"


class Spawner:
    """What every backend provides (each method is documented where it is implemented)."""

    stop_timeout = 5.0

    def start(self, tournament_id, taken_ports=(), on_launch=None):
        """Start a server and wait until it answers as itself; `on_launch(handle)` runs as soon as
        it exists (returning False stops it again). Returns a ServerHandle.

        :raise SpawnError: it did not come up (with the instance launched, if any).
        """
        raise NotImplementedError

    def stop(self, pid, tournament_id):
        """Stop instance `pid` of the tournament's server (a grace period, then forcibly); only
        if it really is that server."""
        raise NotImplementedError

    def stop_many(self, instances, grace_seconds):
        """Stop [(tournament id, instance)] at once: one grace period for all."""
        raise NotImplementedError

    def stop_all(self):
        """Stop every server this spawner started that still runs (tests, single-process use)."""
        raise NotImplementedError

    def reap(self):
        """Housekeeping before each supervisor round (collect exited children)."""

    def retire(self):
        """The last orchestrator stopped the fleet: let go of what the backend keeps running for
        starting servers (the subprocess backend's zygote)."""

    def is_running(self, pid, tournament_id):
        """True when instance `pid` of the tournament's server still runs (answering or not)."""
        raise NotImplementedError

    def is_restarting(self, pid, tournament_id):
        """True while the engine itself is bringing the instance back (a cluster engine's restart
        policy): a failed health check then waits for it instead of counting."""
        return False

    def cpu_seconds(self, pid, tournament_id):
        """CPU time the instance used so far; None when it is gone or cannot tell."""
        raise NotImplementedError

    def gone(self, instances):
        """Of [(tournament id, instance)], the set that surely no longer runs: the supervisor's cheap
        liveness check each round, for servers whose health check is not due. One listing for all
        (a container engine's list call), not one request per server; backends with a cheaper
        probe override it."""
        running = self.running_servers()
        return {(tournament_id, pid) for tournament_id, pid in instances if pid not in running.get(tournament_id, ())}

    def running_servers(self):
        """{tournament id: [instance, ...]} of every server this backend can see, ours or not."""
        raise NotImplementedError

    def ask_to_stop(self, pid, tournament_id):
        """Ask the instance to stop (SIGTERM) without waiting; False when it is gone."""
        raise NotImplementedError

    def force_stop(self, pid, tournament_id):
        """Kill the instance now (SIGKILL); False when it is gone."""
        raise NotImplementedError

    def wait_answering(self, handle, why_not, what="tournament server"):
        """Wait up to the start timeout until the server answers as itself; `why_not()` returns
        why it never will (it exited, say), or None while it may.

        :raise SpawnError: it exited or did not answer in time.
        """
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            reason = why_not()
            if reason:
                raise SpawnError(reason)
            if self.health(handle.host, handle.port, handle.tournament_id, handle.token, timeout=1):
                return
            time.sleep(0.05)
        raise SpawnError(f"{what} did not answer within {self.start_timeout:.0f}s")

    def health(self, host, port, tournament_id, token, timeout=1.0, probe=None):
        """True when the server at host:port answers its health check as this tournament and start.

        `probe` (a HealthProbe) asks on a kept-alive connection instead of a new one.
        """
        one_shot = probe is None
        probe = probe or HealthProbe(servers=1)
        try:
            return self.health_of([(tournament_id, host, port, token)], timeout, probe)[tournament_id]
        finally:
            if one_shot:
                probe.close()

    def health_of(self, servers, timeout, probe):
        """{tournament id: True or False, as `health`} for `servers`, (tournament id, host, port,
        token) each at its own address, asked side by side on `probe`'s kept connections."""
        answers = probe.get_many([(host, port) for _, host, port, _ in servers], HEALTH_PATH, timeout)
        return {tournament_id: _answers_as(answers[(host, port)], tournament_id, token)
                for tournament_id, host, port, token in servers}


HEALTH_PATH = "/api/health"


def _answers_as(answer, tournament_id, token):
    """True when `answer` (status, body), or an error, is the health answer of this tournament's
    server as started with `token`."""
    if isinstance(answer, Exception) or answer[0] != 200:
        return False
    try:
        said = json.loads(answer[1])
    except ValueError:
        return False
    return isinstance(said, dict) and said.get("tournament_id") == tournament_id and said.get("token") == token


def spawner_env(settings, instance_path):
    """What every tournament server is told, whichever backend starts it."""
    return {
        # Where the servers reach them, when not where the orchestrator does (a container on a
        # network of its own, say).
        "DATABASE_URL": settings.get("TOURNAMENT_DATABASE_URL") or settings["DATABASE_URL"],
        "REDIS_URL": settings.get("TOURNAMENT_REDIS_URL") or settings["REDIS_URL"],
        "REDIS_NAMESPACE": settings["REDIS_NAMESPACE"],
        "INSTANCE_PATH": instance_path,
        "SSE_HEARTBEAT_SECONDS": str(settings["SSE_HEARTBEAT_SECONDS"]),
        "MIGRATE_ON_START": "0",  # the orchestrator migrated before starting any server
        "GATEWAY_SECRET": settings["GATEWAY_SECRET"],
        "METRICS_TOKEN": settings["METRICS_TOKEN"],  # the same reader scrapes the servers too
        # Logged like the orchestrator; a server with no LOG_FORMAT picks json (its file, a container's stderr).
        **{name: settings[name] for name in ("LOG_LEVEL", "LOG_FORMAT") if settings.get(name)},
    }


def make_spawner(settings, instance_path):
    """The backend SPAWNER names, built from the orchestrator's settings."""
    backend = settings.get("SPAWNER", "subprocess")
    env = spawner_env(settings, instance_path)
    if backend == "subprocess":
        import os

        from orchestrator.spawners.subprocess import SubprocessSpawner
        from orchestrator.spawners.zygote import Zygote

        log_dir = os.path.join(instance_path, "logs")
        zygote = Zygote(instance_path, env, log_dir, settings["ZYGOTE_IDLE_EXIT"]) if settings["SPAWNER_PRELOAD"] else None
        return SubprocessSpawner(settings["TOURNAMENT_HOST"], settings["TOURNAMENT_PORTS"], env,
                                 log_dir, settings["SPAWN_TIMEOUT"], zygote=zygote)
    if backend == "docker":
        from orchestrator.spawners.docker import DockerSpawner

        return DockerSpawner.from_settings(settings, env)
    if backend == "swarm":
        from orchestrator.spawners.swarm import SwarmSpawner

        return SwarmSpawner.from_settings(settings, env)
    if backend == "kubernetes":
        from orchestrator.spawners.kubernetes import KubernetesSpawner

        return KubernetesSpawner.from_settings(settings, env)
    raise RuntimeError(f"SPAWNER={backend!r}: expected one of {', '.join(BACKENDS)}")
