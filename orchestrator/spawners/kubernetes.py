"""The kubernetes backend (SPAWNER=kubernetes): each tournament's server is a Deployment of
TOURNAMENT_IMAGE (one replica, strategy Recreate) and a Service, in KUBERNETES_NAMESPACE.

It is the docker backend (spawners/docker.py) with a Deployment in place of a container: the same
labels (deployment, tournament id, generation, port) on the Deployment, its pod template and the
Service, one Deployment per start (its name carries the generation), the same health check with
the token of the start. Adoption after an orchestrator restart is by label, as for docker. Who
restarts: the kubelet does, in place, when the container dies (restartPolicy Always), with the same
token and port, so the fleet keeps the generation it recorded; the supervisor reads the pod's
restart count (`is_restarting`) and waits while it stays under KUBERNETES_RESTART_ATTEMPTS.
Past that (a crash loop) its failed checks count as for any backend, and it starts a new
generation after stopping this one.

The pod carries startup, readiness and liveness probes on /api/health (Kubernetes' own view, in
the Deployment's status; the supervisor keeps its own check, which also proves the token), and
resource requests (KUBERNETES_CPU_REQUEST, KUBERNETES_MEMORY_REQUEST) and limits (DOCKER_MEMORY, DOCKER_CPUS; Kubernetes has no per-pod
pids limit, that is the kubelet's --pod-max-pids).

Networking, DOCKER_NETWORK:
- `host` (the default, and what the tests use): hostNetwork; the server listens on
  TOURNAMENT_HOST at a port of TOURNAMENT_PORTS of its node and is routed to there (the
  orchestrator must run on that node, or TOURNAMENT_HOST be an address it reaches).
- any other value: the pod's own network; the server listens on 6000 and is routed to by pod IP.
The Service (ClusterIP, port 6000 to the server's port) is created for what runs in a cluster with
kube-proxy; the gateway does not use it: the tests' control plane has no kube-proxy, so Services
there route nothing.

Connection: KUBECONFIG (a kubeconfig file) when set, else the in-cluster service account (the
orchestrator running as a pod, deploy/kubernetes/). The client connects at first use: an
orchestrator starts without a reachable API server, and a publish is a 503 naming it.
"""
import json
import logging
import re
import time

import urllib3
from docker.utils import parse_bytes
from kubernetes import client as k8s, config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from orchestrator.spawners import SpawnError
from orchestrator.spawners.docker import (CONTAINER_PORT, GENERATION, PORT, TOURNAMENT, DockerSpawner,
                                          error_line)

log = logging.getLogger(__name__)

API_ERRORS = (ApiException, ConfigException, urllib3.exceptions.HTTPError, OSError)
API_TIMEOUT = 10.0  # seconds per API call: an API server that hangs must not hang the supervisor


class _ApiClient(k8s.ApiClient):
    """The client with a timeout on every call (the generated one has none unless each call
    passes `_request_timeout`)."""

    def call_api(self, *args, _request_timeout=None, **kwargs):
        return super().call_api(*args, _request_timeout=_request_timeout or API_TIMEOUT, **kwargs)


class KubernetesSpawner(DockerSpawner):
    unit = "Deployment"
    engine = "the Kubernetes API server"
    engine_errors = API_ERRORS
    namespace = "default"
    restart_attempts = 3

    @classmethod
    def from_settings(cls, settings, env):
        spawner = super().from_settings(settings, env)  # the same checks, environment and limits
        spawner.namespace = settings.get("KUBERNETES_NAMESPACE") or cls.namespace
        spawner.restart_attempts = int(settings.get("KUBERNETES_RESTART_ATTEMPTS") or cls.restart_attempts)
        # What the scheduler reserves for a server on its node. A server idles at ~48 MB and well
        # under a millicore and works in short bursts: 10m lets 200 servers share a 2-core node
        # (50m, the former value, stopped a 2-core node at 40).
        spawner.requests = {"cpu": settings.get("KUBERNETES_CPU_REQUEST") or "10m",
                            "memory": settings.get("KUBERNETES_MEMORY_REQUEST") or "64Mi"}
        kubeconfig = settings.get("KUBECONFIG")

        def connect():
            configuration = k8s.Configuration()
            if kubeconfig:
                k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
            else:
                k8s_config.load_incluster_config(client_configuration=configuration)
            configuration.retries = 0  # a refused connection is an answer now, not after retries
            return _ApiClient(configuration)
        spawner._client = connect
        return spawner

    @property
    def client(self):
        if callable(self._client):
            try:
                self._client = self._client()
            except (ConfigException, OSError) as exc:
                raise ConfigException(f"no Kubernetes configuration: {exc}") from None
        return self._client

    @property
    def apps(self):
        return k8s.AppsV1Api(self.client)

    @property
    def core(self):
        return k8s.CoreV1Api(self.client)

    # ---- starting ------------------------------------------------------------------------------

    def _run(self, tournament_id, generation, token, port):
        labels, env = self._labels_and_env(tournament_id, generation, token, port)
        name = _object_name(tournament_id, generation)
        with self._lock:
            self._started.add((tournament_id, generation))
        self.apps.create_namespaced_deployment(self.namespace, self._deployment(name, labels, env))
        self.core.create_namespaced_service(self.namespace, k8s.V1Service(
            metadata=k8s.V1ObjectMeta(name=name, labels=labels),
            spec=k8s.V1ServiceSpec(selector=_selector(labels), ports=[k8s.V1ServicePort(
                name="http", port=CONTAINER_PORT, target_port=int(env["SERVER_PORT"]))])))
        return name

    def _deployment(self, name, labels, env):
        host_network = self.network == "host"
        server_port = int(env["SERVER_PORT"])
        # On the host network the server listens on TOURNAMENT_HOST only: the kubelet probes there.
        check = k8s.V1HTTPGetAction(path="/api/health", port=server_port, host=self.host if host_network else None)
        probe = dict(http_get=check, timeout_seconds=2)
        limits = {"cpu": f"{int(self.limits['nano_cpus'] / 1e6)}m",
                  "memory": str(parse_bytes(self.limits["mem_limit"]))}
        container = k8s.V1Container(
            name="server", image=self.image, image_pull_policy="IfNotPresent",
            env=[k8s.V1EnvVar(name=key, value=value) for key, value in env.items()],
            ports=[k8s.V1ContainerPort(container_port=server_port, name="http")],
            resources=k8s.V1ResourceRequirements(requests=self.requests, limits=limits),
            startup_probe=k8s.V1Probe(**probe, period_seconds=1, failure_threshold=int(self.start_timeout)),
            # Kubernetes' own view beside the supervisor's checks, so not often: at 200 pods a
            # readiness probe every 2 s cost the servers 19% and the kubelet's engine 43% of a core
            # idle. Readiness moves only the Service's endpoints, which the gateway does not use.
            readiness_probe=k8s.V1Probe(**probe, period_seconds=10, failure_threshold=2),
            liveness_probe=k8s.V1Probe(**probe, period_seconds=20, failure_threshold=3))
        pod = k8s.V1PodSpec(containers=[container], host_network=host_network,
                            dns_policy="ClusterFirstWithHostNet" if host_network else "ClusterFirst",
                            termination_grace_period_seconds=int(self.stop_timeout),
                            automount_service_account_token=False)
        return k8s.V1Deployment(
            metadata=k8s.V1ObjectMeta(name=name, labels=labels),
            spec=k8s.V1DeploymentSpec(
                replicas=1, strategy=k8s.V1DeploymentStrategy(type="Recreate"),
                selector=k8s.V1LabelSelector(match_labels=_selector(labels)),
                template=k8s.V1PodTemplateSpec(metadata=k8s.V1ObjectMeta(labels=labels), spec=pod)))

    def _route(self, name, port):
        """The node's port on the host network, else the pod's IP once it has one."""
        if self.network == "host":
            return self.host, port
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            addresses = [pod.status.pod_ip for pod in self._pods_of(name) if pod.status.pod_ip]
            if addresses:
                return addresses[-1], CONTAINER_PORT
            time.sleep(0.1)
        raise SpawnError(f"the pod got no IP address within {self.start_timeout:.0f}s")

    def _wait_ready(self, handle, name):
        def failed():
            for pod in self._pods_of(name):
                for condition in pod.status.conditions or []:
                    # No node has room for it (requests past what is allocatable, say): waiting
                    # would only end in the start timeout.
                    if condition.type == "PodScheduled" and condition.status == "False" and condition.reason == "Unschedulable":
                        return f"tournament server pod cannot be scheduled: {condition.message}"
                for status in pod.status.container_statuses or []:
                    waiting = status.state.waiting
                    if waiting and waiting.reason in ("ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull",
                                                      "InvalidImageName"):
                        return (f"tournament server pod cannot get its image {self.image}: "
                                f"{waiting.reason}: {waiting.message}")
                    if waiting and waiting.reason == "CreateContainerConfigError":
                        return f"tournament server pod: {waiting.reason}: {waiting.message}"
                    if status.restart_count >= self.restart_attempts:
                        return (f"tournament server pod restarted {status.restart_count} times: "
                                f"{self._last_output(pod)}")
        self.wait_answering(handle, failed, "tournament server Deployment")

    def _last_output(self, pod):
        try:
            return error_line(self.core.read_namespaced_pod_log(
                pod.metadata.name, self.namespace, tail_lines=40, previous=True).encode())
        except API_ERRORS:
            return "(no logs)"

    def _ports_of_running(self):
        return {int(labels[PORT]) for labels, _ in self._deployment_labels() if labels.get(PORT, "").isdigit()}

    # ---- finding ---------------------------------------------------------------------------------

    def _deployments(self, tournament_id=None, generation=None):
        return self.apps.list_namespaced_deployment(
            self.namespace, label_selector=",".join(self._label_filter(tournament_id, generation))).items

    def _deployment_labels(self):
        """[(labels, being deleted)] of this deployment's Deployments, read from the API server's
        raw answer: the client's models cost more to build than the request itself, and the
        supervisor lists every Deployment each round."""
        answer = self.apps.list_namespaced_deployment(
            self.namespace, label_selector=",".join(self._label_filter()), _preload_content=False)
        return [(item["metadata"].get("labels") or {}, bool(item["metadata"].get("deletionTimestamp")))
                for item in json.loads(_read_and_release(answer))["items"]]

    def _find(self, pid, tournament_id, running_only=False):
        found = self._deployments(tournament_id, pid) if pid else []
        return found[0] if found else None

    def _pods_of(self, name):
        deployment = self.apps.read_namespaced_deployment(name, self.namespace)
        selector = ",".join(f"{key}={value}" for key, value in deployment.spec.selector.match_labels.items())
        return self.core.list_namespaced_pod(self.namespace, label_selector=selector).items

    def _current_pod(self, pid, tournament_id):
        """The live pod of the instance (not one being deleted), or None."""
        found = self._find(pid, tournament_id)
        if found is None or found.metadata.deletion_timestamp:
            return None
        pods = [pod for pod in self._pods_of(found.metadata.name) if not pod.metadata.deletion_timestamp]
        return pods[-1] if pods else None

    def is_running(self, pid, tournament_id):
        """True while the Deployment exists and is not being deleted (its pod may be restarting)."""
        found = self._find(pid, tournament_id)
        return found is not None and not found.metadata.deletion_timestamp

    def is_restarting(self, pid, tournament_id):
        """True while Kubernetes is the one to bring the instance back: its pod restarted fewer
        than KUBERNETES_RESTART_ATTEMPTS times, or is starting its last allowed restart. A killed
        container still shows ready for a second or two (until the kubelet notices); a hung one
        turns unready within 4 s (the readiness probe) and is restarted by the liveness probe
        within 30 s. Past the attempts (a crash loop) the supervisor's own failed checks count, as
        for any backend."""
        pod = self._current_pod(pid, tournament_id)
        if pod is None:
            return self.is_running(pid, tournament_id)  # the Deployment makes a new pod
        return all(_kubelet_brings_back(status, self.restart_attempts) for status in pod.status.container_statuses or [])

    def cpu_seconds(self, pid, tournament_id):
        return None  # no metrics API here (metrics-server); the supervisor then treats a hang as one

    def running_servers(self):
        found = {}
        for labels, being_deleted in self._deployment_labels():
            if labels.get(GENERATION, "").isdigit() and TOURNAMENT in labels and not being_deleted:
                found.setdefault(labels[TOURNAMENT], []).append(int(labels[GENERATION]))
        return found

    # ---- stopping ---------------------------------------------------------------------------------

    def stop(self, pid, tournament_id):
        self.stop_many([(tournament_id, pid)], self.stop_timeout)

    def stop_many(self, instances, grace_seconds):
        """Delete the Deployments and Services (the kubelet sends SIGTERM, then SIGKILL after the
        pod's grace period), wait for their pods to go, and force-delete what is left."""
        found = [d for d in (self._find(pid, tid) for tid, pid in instances) if d is not None]
        for deployment in found:
            self._delete(deployment.metadata.name)
        deadline = time.monotonic() + grace_seconds + 1
        while time.monotonic() < deadline and self._pods_of_all(found):
            time.sleep(0.2)
        for pod in self._pods_of_all(found):
            _ignore_missing(self.core.delete_namespaced_pod, pod.metadata.name, self.namespace, grace_period_seconds=0)

    def _pods_of_all(self, deployments):
        pods = []
        for deployment in deployments:
            selector = ",".join(f"{key}={value}" for key, value in deployment.spec.selector.match_labels.items())
            pods += self.core.list_namespaced_pod(self.namespace, label_selector=selector).items
        return pods

    def _delete(self, name):
        # Background: the Deployment goes now, its ReplicaSet and pods after it (the garbage collector).
        _ignore_missing(self.apps.delete_namespaced_deployment, name, self.namespace, propagation_policy="Background")
        _ignore_missing(self.core.delete_namespaced_service, name, self.namespace)

    def reap(self):
        """Nothing to collect: Kubernetes removes what ended; the check is that it answers."""
        try:
            self.apps.get_api_resources()
        except API_ERRORS as exc:  # the round goes on: servers may still answer their checks
            log.warning("the Kubernetes API server does not answer: %s", exc)

    def ask_to_stop(self, pid, tournament_id):
        found = self._find(pid, tournament_id)
        if found is None:
            return False
        self._delete(found.metadata.name)
        return True

    def force_stop(self, pid, tournament_id):
        found = self._find(pid, tournament_id)
        if found is None:
            return False
        self._delete(found.metadata.name)
        for pod in self._pods_of_all([found]):
            _ignore_missing(self.core.delete_namespaced_pod, pod.metadata.name, self.namespace, grace_period_seconds=0)
        return True


def _object_name(tournament_id, generation):
    """A DNS label (a Service's name is one): lowercase letters, digits, dashes, 63 at most."""
    return re.sub(r"[^a-z0-9-]+", "-", f"tp-{generation}-{tournament_id}".lower())[:63].rstrip("-")


def _kubelet_brings_back(status, attempts):
    """True while the container has restarts left, or runs its last one and has not started yet:
    the restart count includes the restart in progress (the kubelet stamps it on the new
    container), so without the second case the supervisor would take the last restart over while
    its server boots. A container that died after it shows terminated or CrashLoopBackOff.

    Between creating the restart's container and starting it, a 1.20 kubelet reports it as
    terminated with the new count but with no finish time (it treats "created" as exited): still
    the restart under way, or the supervisor would take it over whenever a status is read then."""
    if status.restart_count < attempts:
        return True
    if status.restart_count != attempts:
        return False
    state = status.state
    if state.running is not None:
        return not status.started
    return state.terminated is not None and state.terminated.finished_at is None


def _selector(labels):
    """The labels that pick the instance's pods (not the port: informative only)."""
    return {key: value for key, value in labels.items() if key != PORT}


def _ignore_missing(call, *args, **kwargs):
    """Delete, unless it is gone already. The answer is not parsed: a 1.20 API server answers a
    Service's deletion with a Status where the client (generated for newer ones) expects the
    Service, and a deletion's answer tells nothing needed here."""
    try:
        _read_and_release(call(*args, _preload_content=False, **kwargs))
    except ApiException as exc:
        if exc.status != 404:
            raise


def _read_and_release(answer):
    """The body of an unparsed answer (`_preload_content=False`), its connection given back to the
    pool. Only a connection whose answer was read to the end may be: the next request on one with
    bytes left reads them as its own status line (BadStatusLine: a stopping fleet's deletions
    failed so, one after another, under load)."""
    try:
        return answer.data
    finally:
        answer.release_conn()

