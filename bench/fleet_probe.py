"""What bench/fleet.py reads about a fleet from the outside: which engines run here, the tournament
servers' processes and containers, their memory and CPU (psutil for processes, the kernel's cgroup
files for containers, cgroup v1 or v2), the engine's own processes, and the supervisor's round
histogram on /metrics, and what of a run is left afterwards. It asks the platform nothing but
/metrics, so it works whatever spawner code is in place.
"""
import os
import shlex
import subprocess
import time
from pathlib import Path

import psutil
import requests
from prometheus_client.parser import text_string_to_metric_families

NOT_A_BENCHMARK = "bench/fleet.py's probes of engines, processes and cgroups"

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("PLATFORM_CACHE", "/var/cache/tournament-platform"))
DOCKER_ROOT = Path(os.environ.get("DOCKER_ENGINE_ROOT", CACHE / "docker"))
KUBERNETES_STATE = Path(os.environ.get("KUBERNETES_STATE", CACHE / "k8s"))
CGROUP = Path("/sys/fs/cgroup")
ROUND_METRIC = "orchestrator_supervisor_round_seconds"


# ---- which engines run here ----------------------------------------------------------------------

def _script_settings(script, timeout):
    """The settings a scripts/ setup script prints (shell assignments), as tests/e2e/conftest.py reads them."""
    done = subprocess.run([str(ROOT / "scripts" / script)], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"scripts/{script} exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return dict(word.partition("=")[::2] for word in shlex.split(done.stdout.strip().removeprefix("export ")))


def _pid_alive(pidfile):
    try:
        return psutil.pid_exists(int(Path(pidfile).read_text().strip()))
    except (OSError, ValueError):
        return False


def engine_settings(backend, timeout=120):
    """(settings, None) for a backend that runs here, or (None, why not). Nothing is built or
    started that is not running already: an engine that does not answer is skipped."""
    if backend == "subprocess":
        return {}, None
    if backend in ("docker", "swarm"):
        import docker

        socket = DOCKER_ROOT / "docker.sock"
        try:
            client = docker.DockerClient(base_url=f"unix://{socket}", timeout=3)
            client.ping()
            client.close()
        except Exception as exc:  # a missing socket, a refusing or hung engine: all mean "not here"
            return None, f"the private Docker engine at {socket} does not answer ({type(exc).__name__}; scripts/docker-engine starts it)"
        try:
            return _script_settings("docker-engine" if backend == "docker" else "docker-swarm", timeout), None
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            return None, str(exc)
    if backend == "kubernetes":
        if not _pid_alive(KUBERNETES_STATE / "kube-apiserver.pid") or not _pid_alive(KUBERNETES_STATE / "kubelet.pid"):
            return None, (f"no Kubernetes control plane with a kubelet runs ({KUBERNETES_STATE}; "
                          "scripts/kubernetes-control-plane, after scripts/kubernetes-build)")
        try:
            settings = _script_settings("kubernetes-control-plane", timeout)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            return None, str(exc)
        if settings.get("KUBERNETES_MODE") != "full":
            return None, f"the control plane runs in {settings.get('KUBERNETES_MODE')} mode: no pods run"
        return settings, None
    raise ValueError(backend)


def engine_pids(backend):
    """The engine's own daemons (dockerd and its containerd) for a container backend."""
    pidfile = {"docker": DOCKER_ROOT, "swarm": DOCKER_ROOT, "kubernetes": CACHE / "k8s-docker"}.get(backend)
    pids = []
    try:
        daemon = psutil.Process(int((pidfile / "docker.pid").read_text().strip()))
        pids = [daemon.pid] + [child.pid for child in daemon.children(recursive=True)]
    except (OSError, ValueError, TypeError, psutil.NoSuchProcess):
        pass
    if backend == "kubernetes":
        for name in ("kubelet", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
            try:
                pids.append(int((KUBERNETES_STATE / f"{name}.pid").read_text().strip()))
            except (OSError, ValueError):
                pass
    return pids


# ---- the servers' processes ----------------------------------------------------------------------

def _served_id(process, tournament_ids, namespace):
    """The tournament id a server process serves (from `--id` or TOURNAMENT_ID) when it is one of
    `tournament_ids` or the process runs in the platform's Redis `namespace`, else None."""
    try:
        cmdline = process.cmdline()
        if "tournament" not in cmdline:
            return None
        environ = process.environ()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    if "--id" in cmdline and cmdline.index("--id") + 1 < len(cmdline):
        found = cmdline[cmdline.index("--id") + 1]
    else:
        found = environ.get("TOURNAMENT_ID", "?")
    ours = found in tournament_ids or (namespace and environ.get("REDIS_NAMESPACE") == namespace)
    return found if ours else None


def server_processes(tournament_ids, namespace=None):
    """{tournament id: [psutil.Process, ...]} of every process on the machine serving one of
    `tournament_ids` (or any tournament in the platform's Redis `namespace`), whoever started it:
    a subprocess, a container's init and its child."""
    found = {}
    for process in psutil.process_iter():
        tid = _served_id(process, tournament_ids, namespace)
        if tid:
            found.setdefault(tid, []).append(process)
    return found


def processes_in_namespace(namespace):
    """Every process started with the platform's Redis namespace (its orchestrator and its servers)."""
    found = []
    for process in psutil.process_iter():
        try:
            if namespace and process.environ().get("REDIS_NAMESPACE") == namespace:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return found


def database_backends(database):
    """The PostgreSQL backend processes connected to `database` on this machine (their title is
    "postgres: user database host(port) state"): the database's share of what the platform costs.
    The cluster's shared processes (WAL writer, checkpointer, autovacuum) are not in it."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        title = " ".join(process.info["cmdline"] or [])
        if title.startswith("postgres: ") and f" {database} " in f" {title} ":
            found.append(process)
    return found


def process_memory(process):
    """(RSS, USS, PSS) of one process in bytes, or None when it is gone."""
    try:
        info = process.memory_full_info()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return info.rss, info.uss, info.pss


def shims_of(processes):
    """The containerd shims among the ancestors of `processes` (one per container: engine cost)."""
    shims = {}
    for process in processes:
        try:
            for parent in process.parents():
                if parent.name().startswith("containerd-shim"):
                    shims[parent.pid] = parent
                    break
        except psutil.NoSuchProcess:
            pass
    return list(shims.values())


# ---- what is left -------------------------------------------------------------------------------

def leftovers(backend, settings, deployment, tournament_ids, namespace, wait):
    """What of the run still exists after `wait` seconds (engines remove asynchronously): server
    processes, and the deployment's containers or services. They are removed before returning."""
    deadline = time.monotonic() + wait
    while True:
        processes = server_processes(tournament_ids, namespace)
        units = _engine_units(backend, settings, deployment)
        if (not processes and not units) or time.monotonic() > deadline:
            break
        time.sleep(1)
    found = [f"process {p.pid} serving {tid}" for tid, procs in processes.items() for p in procs]
    found += [f"{kind} {name}" for kind, name, _remove in units]
    for _kind, _name, remove in units:
        remove()
    # An orchestrator process that outlived the platform's stop would start the servers again.
    serving = {p.pid for procs in processes.values() for p in procs}
    others = [p for p in processes_in_namespace(namespace) if p.pid not in serving]
    found += [f"process {p.pid} of the platform" for p in others]
    doomed = others + [p for procs in processes.values() for p in procs]
    for process in doomed:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(doomed, timeout=10)
    return found


def _engine_units(backend, settings, deployment):
    """[(kind, name, remove)] of the deployment's containers (docker) or services (swarm)."""
    if backend not in ("docker", "swarm"):
        return []
    import docker

    from orchestrator.spawners.docker import DEPLOYMENT  # the label the docker and swarm spawners set

    client = docker.DockerClient(base_url=settings["DOCKER_HOST"], timeout=30)
    filters = {"label": f"{DEPLOYMENT}={deployment}"}
    units = [("container", c.name, lambda c=c: c.remove(force=True))
             for c in client.containers.list(all=True, filters=filters)]
    if backend == "swarm":
        units += [("service", s.name, s.remove) for s in client.services.list(filters=filters)]
    return units


# ---- containers' cgroups -------------------------------------------------------------------------

def cgroup_dirs(pid):
    """{"memory": dir, "cpu": dir} of a process's cgroup, on cgroup v2 (one tree) or v1 (memory and
    cpuacct hierarchies), or None when it is gone."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    dirs = {}
    for line in lines:
        _hierarchy, controllers, path = line.split(":", 2)
        controllers = controllers.split(",")
        if "memory" in controllers:
            dirs["memory"] = CGROUP / "memory" / path.lstrip("/")
        if "cpuacct" in controllers:
            dirs["cpu"] = CGROUP / "cpuacct" / path.lstrip("/")
        if controllers == [""] and (CGROUP / "cgroup.controllers").exists():  # a v2-only machine
            dirs.setdefault("memory", CGROUP / path.lstrip("/"))
            dirs.setdefault("cpu", CGROUP / path.lstrip("/"))
    return dirs if {"memory", "cpu"} <= dirs.keys() else None


def _stat(path):
    return {name: int(value) for name, value in (line.split() for line in path.read_text().splitlines())}


def cgroup_memory(dirs):
    """(charged bytes, anonymous bytes) of a container's cgroup: memory.current and memory.stat's
    anon on v2, memory.usage_in_bytes and memory.stat's total_rss on v1; None when it is gone."""
    where = dirs["memory"]
    try:
        if (where / "memory.current").exists():
            return int((where / "memory.current").read_text()), _stat(where / "memory.stat")["anon"]
        return int((where / "memory.usage_in_bytes").read_text()), _stat(where / "memory.stat")["total_rss"]
    except (OSError, KeyError, ValueError):
        return None


def cgroup_cpu_seconds(dirs):
    """CPU time the cgroup used so far (cpu.stat usage_usec on v2, cpuacct.usage on v1), or None."""
    where = dirs["cpu"]
    try:
        if (where / "cpu.stat").exists() and not (where / "cpuacct.usage").exists():
            return _stat(where / "cpu.stat")["usage_usec"] / 1e6
        return int((where / "cpuacct.usage").read_text()) / 1e9
    except (OSError, KeyError, ValueError):
        return None


# ---- the supervisor's rounds ---------------------------------------------------------------------

def round_histogram(url, token):
    """{"count", "sum", "buckets": {le: cumulative count}} of the supervisor's round histogram, or
    None when /metrics has none (a platform without it)."""
    response = requests.get(url + "/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    response.raise_for_status()
    found = {"count": 0.0, "sum": 0.0, "buckets": {}}
    seen = False
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == ROUND_METRIC + "_count":
                found["count"] += sample.value
                seen = True
            elif sample.name == ROUND_METRIC + "_sum":
                found["sum"] += sample.value
            elif sample.name == ROUND_METRIC + "_bucket":
                le = float(sample.labels["le"])
                found["buckets"][le] = found["buckets"].get(le, 0.0) + sample.value
    return found if seen else None


def rounds_between(before, after):
    """The rounds between two histogram reads: their number, mean, and the bucket bounds under
    which half and all of them finished (a histogram keeps no exact maximum)."""
    if before is None or after is None:
        return None
    count = after["count"] - before["count"]
    if count <= 0:
        return {"rounds": 0}
    deltas = sorted((le, after["buckets"][le] - before["buckets"].get(le, 0.0)) for le in after["buckets"])

    def bound(share):
        return next(le for le, cumulative in deltas if cumulative >= share * count)
    return {"rounds": int(count), "mean_s": (after["sum"] - before["sum"]) / count,
            "p50_at_most_s": bound(0.5), "max_at_most_s": bound(1.0)}


KSM = Path("/sys/kernel/mm/ksm")


def ksm_state():
    """The host's samepage merging (KSM): {"run", "pages_to_scan", "sleep_millisecs", "full_scans",
    "pages_sharing"} as ints, or None where the kernel has none."""
    try:
        return {name: int((KSM / name).read_text()) for name in
                ("run", "pages_to_scan", "sleep_millisecs", "full_scans", "pages_sharing")}
    except (OSError, ValueError):
        return None


def set_ksm_rate(pages_to_scan, sleep_millisecs):
    """Set ksmd's scan rate (root only); returns the rate it had, to put back."""
    before = {name: (KSM / name).read_text().strip() for name in ("pages_to_scan", "sleep_millisecs")}
    (KSM / "pages_to_scan").write_text(str(pages_to_scan))
    (KSM / "sleep_millisecs").write_text(str(sleep_millisecs))
    return int(before["pages_to_scan"]), int(before["sleep_millisecs"])


def ksmd_cpu_seconds():
    """CPU seconds of the kernel's ksmd thread so far (0.0 when there is none)."""
    for process in psutil.process_iter(["name"]):
        if process.info["name"] == "ksmd":
            try:
                return sum(process.cpu_times()[:2])
            except psutil.Error:
                return 0.0
    return 0.0


def ksm_merged_bytes(process):
    """Bytes of `process` that ksmd merged with identical pages (/proc/PID/ksm_stat), or None."""
    try:
        with open(f"/proc/{process.pid}/ksm_stat") as stat:
            fields = dict(line.rstrip("\n").rsplit(maxsplit=1) for line in stat)
        return int(fields["ksm_merging_pages"]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, KeyError, ValueError):
        return None


def wait_for_merging(timeout, offered_at):
    """When ksmd runs: wait until the servers have offered their pages (at monotonic time
    `offered_at`), then until ksmd has finished the pass under way and passed twice more over
    everything offered (a page is merged once it stayed the same between two passes), at most
    `timeout` seconds in all. Returns the seconds waited and whether it got there, or None when
    ksmd does not run."""
    state = ksm_state()
    if not state or state["run"] != 1:
        return None
    began = time.monotonic()
    time.sleep(max(0.0, min(offered_at - began, timeout)))
    target = ksm_state()["full_scans"] + 3
    while time.monotonic() - began < timeout:
        if ksm_state()["full_scans"] >= target:
            return {"seconds": time.monotonic() - began, "done": True}
        time.sleep(1)
    return {"seconds": time.monotonic() - began, "done": False}
