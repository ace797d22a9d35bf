"""What the benchmarks share: a fresh platform of real processes, the machine header, the smoke
switch, process figures. Every bench follows the contract in bench/__init__.py.

`Platform` creates its own PostgreSQL database and Redis namespace, starts `run.py orchestrator` on a
free port with its own TOURNAMENT_PORTS range, logs in an organizer, and tears all of it down again
(orchestrator SIGTERM, which stops the tournament servers it spawned; database dropped; namespace
keys deleted). It finds PostgreSQL and Redis where the tests do (TEST_DATABASE_URL, TEST_REDIS_URL).
"""
import datetime
import json
import os
import platform
import random
import resource
import shutil
import signal
import sys
import tempfile
import uuid
from pathlib import Path

import psutil
import redis
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.api import Api  # noqa: E402
from tests.support.processes import Proc, free_port, port_is_free, wait_http  # noqa: E402
from tests.support.services import MAINTENANCE_URL, REDIS_URL, delete_namespace  # noqa: E402

NOT_A_BENCHMARK = "the helpers the benchmarks share"

REDIS_PORT = redis.connection.parse_url(REDIS_URL).get("port", 6379)
RESULTS_DIR = Path(os.environ.get("BENCH_RESULTS_DIR", ROOT / "bench" / "results"))
ORGANIZER = "bench-organizer"


def parse_args(parser, smoke):
    """Parse the command line with `--smoke` added: it makes `smoke`'s values ({dest: value}) the
    defaults, so options given explicitly still win."""
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes that prove the bench still runs (CI): " +
                        ", ".join(f"{k}={v}" for k, v in smoke.items()))
    if "--smoke" in sys.argv[1:]:
        parser.set_defaults(**smoke)
    return parser.parse_args()


def raise_fd_limit():
    """Soft RLIMIT_NOFILE up to the hard limit; processes started afterwards inherit it."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def machine():
    return {"cores": os.cpu_count(), "physical_cores": psutil.cpu_count(logical=False),
            "ram_gib": round(psutil.virtual_memory().total / 2**30, 1), "python": platform.python_version(),
            "platform": platform.platform(),
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}


def print_header(title, params):
    info = machine()
    print(f"== {title}")
    print(f"machine: {info['cores']} cores ({info['physical_cores']} physical), {info['ram_gib']} GiB RAM, "
          f"Python {info['python']}, {info['platform']}, {info['date']}")
    print("parameters: " + ", ".join(f"{k}={v}" for k, v in params.items()), flush=True)
    return info


def write_results(name, data):
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"results written to {path}")


def percentiles(values):
    """{p50, p99, max, mean} of `values` (nearest rank), or Nones when empty."""
    if not values:
        return {"p50": None, "p99": None, "max": None, "mean": None, "n": 0}
    ordered = sorted(values)

    def rank(p):
        return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered))) - 1))]
    return {"p50": rank(50), "p99": rank(99), "max": ordered[-1], "mean": sum(ordered) / len(ordered),
            "n": len(ordered)}


def cpu_seconds_of(processes):
    """User + system CPU seconds of `processes` (psutil.Process), those gone meanwhile left out."""
    total = 0.0
    for p in processes:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def wakeups_of(processes):
    """Voluntary context switches of `processes`' main threads (each a sleep, then a wakeup), those
    gone meanwhile left out. An idle process's CPU is mostly its wakeups where waking is dear."""
    total = 0
    for p in processes:
        try:
            total += p.num_ctx_switches().voluntary
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def _free_range(size, attempts=50):
    for _ in range(attempts):
        low = random.randrange(20000, 30000 - size)
        if all(port_is_free(port) for port in range(low, low + size)):
            return low, low + size - 1
    raise RuntimeError(f"no free range of {size} ports in 20000-30000")


def _is_zygote(process):
    """The preloaded parent of tournament servers (tournament_service/zygote.py)."""
    try:
        return process.cmdline()[2:3] == ["zygote"]
    except psutil.NoSuchProcess:
        return False


def _zygotes(instance):
    """The zygote(s) forking this platform's servers (one per instance folder)."""
    wanted = os.path.realpath(instance)
    return [p for p in psutil.process_iter(["cmdline"]) if (p.info["cmdline"] or [])[2:3] == ["zygote"]
            and wanted in p.info["cmdline"]]


class Platform:
    """A fresh database + Redis namespace + orchestrator; use as a context manager."""

    def __init__(self, name, port_count=50, env=None):
        self.name, self.port_count, self.extra_env = name, port_count, env or {}
        self.proc = self.admin = self.db_name = self.instance = None

    def __enter__(self):
        # A SIGTERM (a CI timeout) ends the bench through __exit__, which stops what it started.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
        try:
            return self._start()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise

    def _start(self):
        run_id = uuid.uuid4().hex[:10]
        # Under the caller's own namespace when it has one (a test run), so its clean-up covers this.
        self.namespace = f"{os.environ.get('REDIS_NAMESPACE', '')}bench-{run_id}:"
        self.db_name = f"bench_{run_id}"
        self.admin = sa.create_engine(MAINTENANCE_URL, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{self.db_name}"')
        self.database_url = (sa.engine.make_url(MAINTENANCE_URL).set(database=self.db_name)
                             .render_as_string(hide_password=False))
        self.instance = tempfile.mkdtemp(prefix=f"bench-{self.name}-")
        self.ports = _free_range(self.port_count)
        port = free_port()
        env = {"DATABASE_URL": self.database_url, "REDIS_URL": REDIS_URL, "REDIS_NAMESPACE": self.namespace,
               "INSTANCE_PATH": self.instance, "TOURNAMENT_PORTS": "%d-%d" % self.ports, **self.extra_env}
        self.proc = Proc(["orchestrator", "--port", str(port)], env, os.path.join(self.instance, "orchestrator.log"))
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        wait_http(self.url + "/healthz", timeout=60, process=self.proc.process)
        self.api = Api(self.url).login(ORGANIZER)
        self.engine = sa.create_engine(self.database_url, pool_size=1)
        return self

    def __exit__(self, exc_type, *_):
        try:
            if self.proc is not None:
                leftovers = [p for p in self.processes(servers=True) if p.pid != self.proc.pid]
                self.proc.stop(timeout=30)
                for p in [p for p in leftovers if _is_zygote(p)]:  # it outlives orchestrators by design
                    p.kill()
                    leftovers.remove(p)
                _gone, alive = psutil.wait_procs(leftovers, timeout=10)
                for p in alive:  # should not happen: the orchestrator stops its servers
                    print(f"WARNING: process {p.pid} outlived the orchestrator; killing it")
                    p.kill()
        finally:
            if getattr(self, "engine", None) is not None:
                self.engine.dispose()
            if self.admin is not None:
                with self.admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
                self.admin.dispose()
            client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
            delete_namespace(client, self.namespace)
            client.close()
            if exc_type is None:
                shutil.rmtree(self.instance, ignore_errors=True)
            elif self.instance:
                print(f"logs kept in {self.instance}")

    def processes(self, servers=False):
        """The gunicorn master and its worker(s); with `servers`, the tournament servers and
        their zygote too."""
        try:
            master = psutil.Process(self.proc.pid)
            found = [master]
            for child in master.children(recursive=True):
                try:
                    if servers or "tournament" not in child.cmdline():
                        found.append(child)
                except psutil.NoSuchProcess:
                    pass
        except psutil.NoSuchProcess:
            return []
        if servers:  # forked servers are the zygote's children, and it is nobody's (it detached)
            for zygote in _zygotes(self.instance):
                found.append(zygote)
                try:
                    found.extend(p for p in zygote.children() if p not in found)
                except psutil.NoSuchProcess:
                    pass
        return found

    def cpu_seconds(self):
        return cpu_seconds_of(self.processes())

    def server_processes(self):
        """The tournament servers the orchestrator spawned (not its master and workers)."""
        own = self.processes()
        return [p for p in self.processes(servers=True) if p not in own]

    def peak_rss_mib(self):
        """{pid: VmHWM in MiB} for master and worker(s): the kernel's own peak-RSS record."""
        peaks = {}
        for p in self.processes():
            with open(f"/proc/{p.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peaks[p.pid] = round(int(line.split()[1]) / 1024, 1)
        return peaks

    def redis_connections(self):
        """Redis client connections held by the orchestrator's processes (sockets to port 6379),
        cross-checked against Redis's CLIENT LIST: (owned by the processes, also seen by Redis)."""
        ports = set()
        for p in self.processes():
            for conn in p.net_connections(kind="tcp"):
                if conn.raddr and conn.raddr.port == REDIS_PORT and conn.status == psutil.CONN_ESTABLISHED:
                    ports.add(conn.laddr.port)
        client = redis.Redis.from_url(REDIS_URL)
        seen = {int(c["addr"].rsplit(":", 1)[1]) for c in client.client_list()}
        client.close()
        return len(ports), len(ports & seen)

    def head_seq(self, tournament_id):
        with self.engine.connect() as conn:
            return conn.exec_driver_sql("SELECT coalesce(max(seq), 0) FROM tournament_events "
                                        "WHERE tournament_id = %(t)s", {"t": tournament_id}).scalar()

    def events(self, tournament_id):
        """[(seq, type, payload)] of the tournament's event log."""
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(
                "SELECT seq, type, payload FROM tournament_events WHERE tournament_id = %(t)s ORDER BY seq",
                {"t": tournament_id})]

    def server_env(self):
        """The environment the orchestrator gives the tournament servers it spawns (see
        orchestrator.spawners.spawner_env), for starting one by hand; GATEWAY_SECRET is the instance's."""
        secrets_path = Path(self.instance, "secrets.json")
        kept = json.loads(secrets_path.read_text()) if secrets_path.exists() else {}
        return {"DATABASE_URL": self.database_url, "REDIS_URL": REDIS_URL, "REDIS_NAMESPACE": self.namespace,
                "INSTANCE_PATH": self.instance, "MIGRATE_ON_START": "0",
                "GATEWAY_SECRET": self.extra_env.get("GATEWAY_SECRET") or kept.get("GATEWAY_SECRET", "")}

    def server_row(self, tournament_id):
        """The tournament's `tournament_servers` row as a dict (pid, status, started_at, ...), or None."""
        with self.engine.connect() as conn:
            row = conn.exec_driver_sql("SELECT * FROM tournament_servers WHERE tournament_id = %(t)s",
                                       {"t": tournament_id}).first()
        return dict(row._mapping) if row else None

    def log_problems(self, limit=10):
        """Lines of the orchestrator's and servers' logs that look like trouble (ERROR, WARNING, Traceback)."""
        found = []
        for path in [Path(self.instance, "orchestrator.log"), *Path(self.instance, "logs").glob("*.log")]:
            for line in path.read_text(errors="replace").splitlines():
                if _looks_like_trouble(line):
                    found.append(f"{path.name}: {line.strip()[:300]}")
        return found[:limit] + ([f"... {len(found) - limit} more"] if len(found) > limit else [])


def _looks_like_trouble(line):
    """A JSON log line at warning or above, or a line Python or a library printed itself that
    says ERROR, WARNING, CRITICAL or Traceback."""
    try:
        parsed = json.loads(line)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return parsed.get("level") in ("warning", "error", "critical")
    return any(word in line for word in ("ERROR", "WARNING", "Traceback", "CRITICAL"))
