"""A dense fleet: N tournament servers on one machine with each spawner that runs here.

For each spawner (subprocess always; docker and swarm when the private engine of
scripts/docker-engine answers; kubernetes when the control plane of scripts/kubernetes-control-plane
runs with a kubelet; nothing is built or started for the bench), on a fresh platform
(bench/harness.py) with the orchestrator's default SUPERVISE_INTERVAL:

- publishes --count tournaments one after another and times publish -> first 200 of
  GET /t/<id>/api/state through the gateway (bench/spawn.py's probe), p50/p99 per block of
  --block servers, so a fleet that slows its own growth shows;
- then, after --settle seconds (and where the host runs the kernel's samepage merging, once the
  forked servers have offered it their own pages, KSM_OFFER_AFTER_SECONDS after their start, and
  ksmd has finished its pass under way and made two more, at most --merge-timeout seconds in all:
  tournament_service/page_sharing.py; --ksm-idle-rate sets ksmd's rate for a second window after a
  first at the host's own rate), over a
  quiet window of --window seconds:
  the idle CPU of the whole fleet, of the orchestrator (gunicorn master and worker, whose thread
  is the supervisor), for containers of the engine (dockerd, containerd, one shim per container),
  of ksmd where it runs (a cost of the merged memory) and of the PostgreSQL backends connected to
  the platform's database (the supervisor's queries), as % of one core; and the supervisor's
  rounds in that window (orchestrator_supervisor_round_seconds on /metrics) against
  SUPERVISE_INTERVAL;
- per-server memory: RSS, USS and PSS of each server process (psutil) and what ksmd merged of it;
  for containers the container's cgroup (charged memory and its anonymous part) beside its
  processes' own figures;
- cancels every tournament and asserts that no server process, container or service of the run is
  left (exit 1 if one is, after removing it).

Publishing stops early, and says so, when the machine's available memory falls under
--min-free-gib. --smoke (CI) runs the subprocess spawner only, so the smoke run never depends on a
Docker engine being up; name others with --spawners.

    .venv/bin/python -m bench.fleet --count 200 [--spawners subprocess,docker,swarm,kubernetes]
"""
import argparse
import os
import secrets
import sys
import time
import uuid
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import fleet_probe as probe  # noqa: E402
from bench import harness as h  # noqa: E402
from bench.spawn import spawn_one  # noqa: E402
from bench.wakeup import summary as wakeup_summary  # noqa: E402
from bench.wakeup import wakeup_costs  # noqa: E402
from tournament_service.page_sharing import offer_settings  # noqa: E402

BACKENDS = ("subprocess", "docker", "swarm", "kubernetes")
MIB = 2 ** 20
BASELINE = ("reference (issue 11, before): one subprocess server 46 MB USS / 64 MB RSS (200 take ~9-13 GB); "
            "goal 5: USS <= 15 MB each, idle fleet + supervisor < 5% of one core, a round over 200 "
            "servers within its interval")


def backend_env(backend, settings, deployment):
    """The orchestrator's settings for `backend`; containers share the host's network, so they reach
    PostgreSQL and Redis at the addresses the orchestrator does."""
    if backend == "subprocess":
        return {"SPAWNER": "subprocess"}
    # SPAWN_TIMEOUT 60 (default 20): on a loaded machine a container can take longer than 20 s to
    # answer, and the bench is about what a running fleet costs, not about that timeout.
    env = {"SPAWNER": backend, "TOURNAMENT_IMAGE": settings["TOURNAMENT_IMAGE"], "DEPLOYMENT": deployment,
           "DOCKER_NETWORK": "host", "SPAWN_TIMEOUT": "60"}
    if backend == "kubernetes":
        return {**env, "KUBECONFIG": settings["KUBECONFIG"]}
    return {**env, "DOCKER_HOST": settings["DOCKER_HOST"]}


def available_gib():
    return psutil.virtual_memory().available / 2 ** 30


def free_connection_slots(platform):
    """PostgreSQL's connection slots still open to ordinary users (every server holds some)."""
    with platform.engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"
            " - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')").scalar()


def fleet_connections(platform):
    """Connections to the platform's own database (its orchestrator's and its servers')."""
    with platform.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                    ).scalar() - 1  # this query's own


def why_stop(platform, args):
    """Why no more servers should be published on this shared machine, or None."""
    if available_gib() < args.min_free_gib:
        return f"{available_gib():.1f} GiB available < --min-free-gib {args.min_free_gib}"
    slots = free_connection_slots(platform)
    if slots < args.min_free_connections:
        return (f"PostgreSQL has {slots} connection slots left < --min-free-connections "
                f"{args.min_free_connections} (max_connections is shared with everything else on it)")
    return None


def publish_fleet(platform, args, runs):
    """Publishes up to --count tournaments into `runs` (the caller's list: an interrupted run still
    knows what it started); returns (runs, why it stopped early or None)."""
    stopped = None
    for number in range(1, args.count + 1):
        reason = why_stop(platform, args)
        if reason:
            stopped = f"stopped at {len(runs)} servers: {reason}"
            print(f"  {stopped}", flush=True)
            break
        runs.append(spawn_one(platform, number, args.poll_interval, args.timeout))
        if runs[-1]["error"]:
            runs[-1]["error"] += server_log_tail(platform, runs[-1]["tournament_id"])
            print(f"  {number:4d} ERROR {runs[-1]['error']}", flush=True)
        if number % args.block == 0 or number == args.count:
            block = runs[-((number - 1) % args.block + 1):]
            stats = h.percentiles([r["sent_to_first_200_ms"] for r in block if not r["error"]])
            print(f"  servers {number - len(block):4d}-{number:<4d} publish -> first 200: p50 {fmt(stats['p50'])} ms, "
                  f"p99 {fmt(stats['p99'])} ms; {available_gib():.1f} GiB available, "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)
    return runs, stopped


def server_log_tail(platform, tournament_id, lines=3):
    """The end of a subprocess server's log (the platform's instance folder goes with a good run)."""
    path = Path(platform.instance, "logs", f"tournament-{tournament_id}.log")
    if not path.exists():
        return ""
    return " | log: " + " / ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])[-500:]


def fmt(value, digits=0):
    return "-" if value is None else f"{value:.{digits}f}"


def recorded_servers(platform):
    """{tournament id: instance} of the fleet's RUNNING servers."""
    with platform.engine.connect() as conn:
        return dict(conn.exec_driver_sql("SELECT tournament_id, pid FROM tournament_servers WHERE status = 'RUNNING'")
                    .all())


def fleet_parts(platform, backend, tournament_ids):
    """What runs the fleet: {"servers": {tid: [processes]}, "others": [processes that serve no one
    tournament, e.g. a preforking parent], "cgroups": {tid: dirs}, "engine": [processes]}."""
    orchestrator = {p.pid for p in platform.processes()}
    if backend == "subprocess":
        servers = {}
        for tid, pid in recorded_servers(platform).items():
            try:
                servers[tid] = [psutil.Process(pid)]
            except psutil.NoSuchProcess:
                pass
        serving = {p.pid for procs in servers.values() for p in procs}
        others = [p for p in platform.processes(servers=True) if p.pid not in orchestrator | serving]
        return {"servers": servers, "others": others, "cgroups": {}, "engine": []}
    servers = probe.server_processes(tournament_ids)
    cgroups = {tid: probe.cgroup_dirs(procs[0].pid) for tid, procs in servers.items()}
    engine = [psutil.Process(pid) for pid in probe.engine_pids(backend) if psutil.pid_exists(pid)]
    engine += probe.shims_of(procs[0] for procs in servers.values())
    return {"servers": servers, "others": [], "cgroups": {t: d for t, d in cgroups.items() if d}, "engine": engine}


def cpu_snapshot(platform, parts, backends):
    servers = [p for procs in parts["servers"].values() for p in procs] + parts["others"]
    fleet = h.cpu_seconds_of(servers)
    fleet += sum(probe.cgroup_cpu_seconds(d) or 0.0 for d in parts["cgroups"].values())
    return {"at": time.monotonic(), "fleet": fleet, "orchestrator": platform.cpu_seconds(),
            "engine": h.cpu_seconds_of(parts["engine"]), "ksmd": probe.ksmd_cpu_seconds(),
            "database": h.cpu_seconds_of(backends),
            "fleet_wakeups": h.wakeups_of(servers), "orchestrator_wakeups": h.wakeups_of(platform.processes())}


def idle_cpu(platform, parts, args, token):
    """% of one core used by the fleet, the orchestrator, the engine, the kernel's ksmd (merging
    the servers' pages, where the host runs it) and the PostgreSQL backends serving the platform's
    database (the supervisor's queries cost there too) over the quiet window, and the supervisor's
    rounds in it."""
    rounds_before = probe.round_histogram(platform.url, token)
    backends = probe.database_backends(platform.db_name)
    before = cpu_snapshot(platform, parts, backends)
    time.sleep(args.window)
    after = cpu_snapshot(platform, parts, backends)
    rounds = probe.rounds_between(rounds_before, probe.round_histogram(platform.url, token))
    seconds = after["at"] - before["at"]
    figures = {f"{key}_pct_of_one_core": 100 * (after[key] - before[key]) / seconds
               for key in ("fleet", "orchestrator", "engine", "ksmd", "database")}
    wakeups = {f"{key}_per_s": (after[key] - before[key]) / seconds for key in ("fleet_wakeups", "orchestrator_wakeups")}
    return {**figures, **wakeups, "window_s": seconds, "supervisor_rounds": rounds}


def memory_figures(parts):
    """Per-server memory in MiB: each server's processes' RSS/USS/PSS and, for a container, its cgroup."""
    per_server = {"rss": [], "uss": [], "pss": [], "cgroup": [], "cgroup_anon": [], "ksm_merged": []}
    for tid, procs in parts["servers"].items():
        sizes = [s for s in (probe.process_memory(p) for p in procs) if s]
        for index, key in enumerate(("rss", "uss", "pss")):
            per_server[key].append(sum(s[index] for s in sizes) / MIB)
        merged = [m for m in (probe.ksm_merged_bytes(p) for p in procs) if m is not None]
        if merged:
            per_server["ksm_merged"].append(sum(merged) / MIB)
        if tid in parts["cgroups"]:
            charged = probe.cgroup_memory(parts["cgroups"][tid])
            if charged:
                per_server["cgroup"].append(charged[0] / MIB)
                per_server["cgroup_anon"].append(charged[1] / MIB)
    figures = {key: {**h.percentiles(values), "total": sum(values)} for key, values in per_server.items() if values}
    extra = [s for s in (probe.process_memory(p) for p in parts["others"] + parts["engine"]) if s]
    figures["shared_or_engine_processes"] = {"count": len(extra), "rss_total": sum(s[0] for s in extra) / MIB,
                                             "uss_total": sum(s[1] for s in extra) / MIB,
                                             "pss_total": sum(s[2] for s in extra) / MIB}
    return figures


def cancel_all(platform, runs):
    """Cancels every tournament; returns the errors."""
    errors = []
    for run in runs:
        response = platform.api.post(f"/api/v1/tournaments/{run['tournament_id']}/cancel")
        if response.status_code != 200:
            errors.append(f"cancel {run['tournament_id']}: {response.status_code} {response.text[:200]}")
    return errors


def run_fleet(backend, settings, args):
    """One spawner's whole run; returns its figures (with "errors")."""
    deployment, token = f"bench-fleet-{uuid.uuid4().hex[:8]}", secrets.token_hex(16)
    env = {"METRICS_TOKEN": token, **backend_env(backend, settings, deployment)}
    load_before = os.getloadavg()
    result = {"backend": backend, "load_before": load_before, "errors": []}
    runs, platform = [], h.Platform(f"fleet-{backend}", port_count=args.count + 20, env=env)
    rate_before = None
    try:
        with platform:
            interval = float(os.environ.get("SUPERVISE_INTERVAL", 1.0))
            runs, result["stopped_early"] = publish_fleet(platform, args, runs)
            last_start = time.monotonic()
            result["errors"] += [r["error"] for r in runs if r["error"]]
            time.sleep(args.settle)
            # Where the host runs ksmd, memory and idle CPU are measured once it has merged what
            # it will: the last server offers its pages KSM_OFFER_AFTER_SECONDS after its start.
            offer_after = offer_settings(os.environ)[1]
            ksm = probe.ksm_state()
            result["ksm_host_rate"] = (ksm["pages_to_scan"], ksm["sleep_millisecs"]) if ksm else None
            result["ksm_wait"] = probe.wait_for_merging(args.merge_timeout, last_start + offer_after + 2)
            tournament_ids = {r["tournament_id"] for r in runs}
            parts = fleet_parts(platform, backend, tournament_ids)
            result["servers_seen"] = len(parts["servers"])
            result["database_connections"] = fleet_connections(platform)
            if result["ksm_wait"] and args.ksm_idle_rate:
                # Both: at the host's own rate, then at the idle rate asked for.
                result["idle_at_host_rate"] = idle_cpu(platform, parts, args, token)
                result["ksm_idle_rate"] = args.ksm_idle_rate
                rate_before = probe.set_ksm_rate(*args.ksm_idle_rate)
            result["idle"] = idle_cpu(platform, parts, args, token)
            result["memory_mib"] = memory_figures(parts)
            result["supervise_interval_s"] = interval
            result["errors"] += cancel_all(platform, runs)
            result["log_problems"] = platform.log_problems()
    finally:
        if rate_before:
            probe.set_ksm_rate(*rate_before)
        # Even when the run failed or was interrupted (SIGTERM): nothing of it may outlive the bench.
        result["left"] = probe.leftovers(backend, settings, deployment, {r["tournament_id"] for r in runs},
                                   getattr(platform, "namespace", None), args.gone_timeout)
        if result["left"]:
            print(f"  removed what was left: {', '.join(result['left'][:5])}", flush=True)
    result["errors"] += [f"left after the run: {what}" for what in result["left"]]
    good = [r for r in runs if not r["error"]]
    result["published"] = len(runs)
    result["publish_to_first_200_ms"] = h.percentiles([r["sent_to_first_200_ms"] for r in good])
    result["by_block"] = [{"from": start, "to": start + len(block),
                           **h.percentiles([r["sent_to_first_200_ms"] for r in block if not r["error"]])}
                          for start in range(0, len(runs), args.block) for block in [runs[start:start + args.block]]]
    result["load_after"] = os.getloadavg()
    return result


def _rate(text):
    pages, _, millis = text.partition("/")
    return int(pages), int(millis)


def report(result):
    """Prints one spawner's figures."""
    print(f"-- {result['backend']}: {result['published']} published, {result['servers_seen']} servers measured"
          + (f" ({result['stopped_early']})" if result.get("stopped_early") else ""))
    stats = result["publish_to_first_200_ms"]
    print(f"publish -> first 200 through the gateway: p50 {fmt(stats['p50'])} ms, p99 {fmt(stats['p99'])} ms "
          f"(blocks of {result['by_block'][0]['to'] if result['by_block'] else 0}: "
          + ", ".join(f"{b['from']}-{b['to']} p50 {fmt(b['p50'])}/p99 {fmt(b['p99'])}" for b in result["by_block"]) + ")")
    waited = result.get("ksm_wait")
    if waited:
        print(f"memory measured after the servers' offers and ksmd's passes: {waited['seconds']:.0f} s after the settle"
              + ("" if waited["done"] else " (--merge-timeout: not done)"))
    for key, label in (("rss", "RSS"), ("uss", "USS"), ("pss", "PSS"), ("cgroup", "cgroup memory"),
                       ("cgroup_anon", "cgroup anon"), ("ksm_merged", "merged by ksmd")):
        if key in result["memory_mib"]:
            m = result["memory_mib"][key]
            print(f"per-server {label}: p50 {fmt(m['p50'], 1)} MiB, max {fmt(m['max'], 1)} MiB, "
                  f"total {fmt(m['total'])} MiB")
    extra = result["memory_mib"]["shared_or_engine_processes"]
    if extra["count"]:
        print(f"{'engine' if result['backend'] != 'subprocess' else 'shared'} processes: {extra['count']}, "
              f"RSS {extra['rss_total']:.0f} MiB, USS {extra['uss_total']:.0f} MiB, PSS {extra['pss_total']:.0f} MiB")
    host_rate = result.get("ksm_host_rate")
    for key, rate in (("idle_at_host_rate", host_rate), ("idle", result.get("ksm_idle_rate") or host_rate)):
        if key not in result:
            continue
        idle = result[key]
        print(f"idle over {idle['window_s']:.0f} s, % of one core: fleet {idle['fleet_pct_of_one_core']:.1f}, "
              f"orchestrator (supervisor) {idle['orchestrator_pct_of_one_core']:.1f}, "
              f"database backends {idle['database_pct_of_one_core']:.1f}"
              + (f", engine {idle['engine_pct_of_one_core']:.1f}" if result["backend"] != "subprocess" else "")
              + (f", ksmd {idle['ksmd_pct_of_one_core']:.1f}" if waited else "")
              + (" (ksmd scanning {} pages every {} ms in the window)".format(*rate) if waited and rate else ""))
        print(f"wakeups a second (voluntary context switches of main threads): fleet "
              f"{idle['fleet_wakeups_per_s']:.0f}, orchestrator {idle['orchestrator_wakeups_per_s']:.0f}")
    rounds = idle["supervisor_rounds"]
    if rounds is None:
        print("supervisor round: not observable (no orchestrator_supervisor_round_seconds on /metrics)")
    elif rounds["rounds"]:
        print(f"supervisor round: {rounds['rounds']} rounds, mean {rounds['mean_s'] * 1000:.0f} ms, p50 <= "
              f"{rounds['p50_at_most_s']} s, max <= {rounds['max_at_most_s']} s; interval "
              f"{result['supervise_interval_s']} s")
    else:
        print("supervisor round: none finished in the window (a round longer than the window)")
    print(f"PostgreSQL connections to the platform's database: {result['database_connections']} "
          f"(orchestrator and {result['servers_seen']} servers)")
    print(f"load average before {result['load_before'][0]:.2f}, after {result['load_after'][0]:.2f}; "
          f"left after the run: {len(result['left'])}; errors: {len(result['errors'])}; "
          f"log lines that look like trouble: {len(result['log_problems'])}")
    for error in result["errors"][:10]:
        print(f"  ERROR {error}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200, help="tournament servers per spawner")
    parser.add_argument("--spawners", default=",".join(BACKENDS),
                        help="comma-separated; those that do not run here are skipped, saying why")
    parser.add_argument("--block", type=int, default=25, help="publish latency is reported per block of servers")
    parser.add_argument("--window", type=float, default=30.0, help="quiet window for idle CPU, seconds")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds between the last publish and the window")
    parser.add_argument("--poll-interval", type=float, default=0.01, help="seconds between state polls")
    parser.add_argument("--timeout", type=float, default=90.0, help="publish -> first 200, per tournament")
    parser.add_argument("--min-free-gib", type=float, default=4.0, help="stop publishing under this much available")
    parser.add_argument("--min-free-connections", type=int, default=20,
                        help="stop publishing when PostgreSQL has fewer connection slots left")
    parser.add_argument("--gone-timeout", type=float, default=60.0, help="seconds for the fleet to be gone")
    parser.add_argument("--ksm-idle-rate", type=_rate, default=None, metavar="PAGES/MS",
                        help="where ksmd runs: once it has merged, measure one idle window at the host's rate, "
                             "then a second one scanning PAGES every MS milliseconds (a host policy: fast while a "
                             "fleet starts, slow once it idles), then put the host's rate back; root only")
    parser.add_argument("--merge-timeout", type=float, default=1800.0,
                        help="where ksmd runs: at most this many seconds for its two passes before measuring")
    parser.add_argument("--name", default="fleet", help="results file name")
    args = h.parse_args(parser, smoke={"count": 3, "spawners": "subprocess", "block": 2, "window": 3.0,
                                       "settle": 1.0, "merge_timeout": 5.0, "name": "fleet_smoke"})
    h.raise_fd_limit()
    info = h.print_header("A dense fleet: memory, idle CPU, publish latency and supervisor rounds per spawner",
                          vars(args))
    print(BASELINE)
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{available_gib():.1f} GiB available", flush=True)
    ksm = probe.ksm_state()
    print("samepage merging (KSM): " + ("none in this kernel" if ksm is None else
          f"ksmd {'runs' if ksm['run'] == 1 else 'does not run'} ({ksm['pages_to_scan']} pages every "
          f"{ksm['sleep_millisecs']} ms); forked servers offer their pages to it"), flush=True)
    # Idle CPU is wakeups: what one costs on this machine says how to read the idle figures.
    wakeups = wakeup_costs([0.1 if args.smoke else 1.0], repeat=3)
    print(wakeup_summary(wakeups), flush=True)
    wanted = [name.strip() for name in args.spawners.split(",") if name.strip()]
    unknown = set(wanted) - set(BACKENDS)
    if unknown:
        parser.error(f"--spawners: unknown {', '.join(sorted(unknown))} (expected {', '.join(BACKENDS)})")

    results, skipped = [], {}
    for backend in wanted:
        settings, why_not = probe.engine_settings(backend)
        if settings is None:
            skipped[backend] = why_not
            print(f"-- {backend}: skipped: {why_not}", flush=True)
            continue
        print(f"-- {backend}: publishing {args.count}", flush=True)
        try:
            results.append(run_fleet(backend, settings, args))
        except Exception as exc:  # one spawner failing leaves the others to measure; the exit says it
            # A failed teardown raises on top of what failed first: say both.
            causes = [exc]
            while causes[-1].__context__ is not None and len(causes) < 5:
                causes.append(causes[-1].__context__)
            errors = [f"{type(cause).__name__}: {cause}" for cause in causes]
            results.append({"backend": backend, "errors": errors, "failed": True})
            print(f"-- {backend}: FAILED: {' (after: '.join(errors)}{')' * (len(errors) - 1)}", flush=True)
            continue
        report(results[-1])
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    h.write_results(args.name, {"machine": info, "parameters": vars(args), "skipped": skipped, "results": results,
                                "wakeup_us": {"warm": wakeups["warm_us"],
                                              "after_idle": {str(g): c for g, c in wakeups["after_s"].items()}}})
    return 1 if not results or any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
