"""Recovery: kill -9 of a tournament server -> serving again, and the state rebuild time by log size.

Part 1, for each --supervise-interval (one fresh platform each, bench/harness.py): --trials times,
one new tournament per trial (so no trial inherits the previous one's failure count, backoff or
crash-loop record): an ACTIVE tournament of --teams teams with --results results recorded; read its
state (seq, round) and its server's pid from `tournament_servers`, checked against the fleet view
(GET /api/v1/servers as the organizer) and against the pid the server on that port reports (its own
/api/health, asked on its port: not reachable through the gateway); SIGKILL that pid; then poll
GET /t/<id>/api/state through the orchestrator's gateway every --poll-interval seconds until it
answers 200 with the same seq and round AND `tournament_servers` names a new, RUNNING pid. The
headline is kill -> that first good 200; from the fleet row it is split into kill -> failure
recorded (detection), -> new process launched (backoff and waiting for the next round), -> first
200 (process start, rebuild, ready check, routing). The tournament is then cancelled.

Part 2, on the last platform: logs of --sizes events (plus a genesis-only baseline) are written
straight into `tournament_events` for DRAFT tournaments of the registry (DRAFT: the supervisor leaves
them alone, and a server with a non-empty log never reads the registry). Their shapes are copied
from what a real published tournament wrote (genesis tournament_published + state_changed, then
team_registered / team_unregistered pairs with fresh team ids and names), so a replay runs the
real fold. Measured, median of --repeats: (a) in this process, with a warm engine made like the
server's: the DB read of the payloads, the JSON decoding, the fold into a Tournament, and the
real path (EventLog.load() folded as TournamentServer._load does); (b) `run.py tournament --id ID
--port P` with the platform's server environment, from Popen to the first 200 of /api/health
reporting the whole log's seq.

    cd /work/main && .venv/bin/python -m bench.recovery
    cd /work/main && .venv/bin/python -m bench.recovery --supervise-interval 0.2 --trials 10
"""
import argparse
import copy
import csv
import io
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import harness as h  # noqa: E402
from shared import events as ev  # noqa: E402
from shared.db.engine import make_engine  # noqa: E402
from tests.support.api import make_tournament, ok  # noqa: E402
from tournament_service.store import EventLog  # noqa: E402
from tournament_service.tournament import Tournament  # noqa: E402

SETTING_NAMES = ("SUPERVISE_INTERVAL", "RESTART_BACKOFF_BASE", "RESTART_BACKOFF_CAP", "CRASH_LOOP_FAILURES",
                 "CRASH_LOOP_WINDOW", "HEALTH_TIMEOUT", "HEALTH_FAILURES_BEFORE_RESTART", "SPAWN_TIMEOUT",
                 "STABLE_SECONDS")


def effective_settings(env):
    """The supervisor settings the orchestrator computes from `env` (its own settings function)."""
    from orchestrator import _settings

    fake = {"SECRET_KEY": "x", "GATEWAY_SECRET": "x", "DATABASE_URL": "postgresql://unused/x", **env}
    settings = _settings(fake, "/nonexistent")
    return {name: settings[name] for name in SETTING_NAMES}


def ms(seconds):
    return None if seconds is None else seconds * 1000


def fmt(value, digits=0):
    return "-" if value is None else f"{value:.{digits}f}"


def stats_line(stats):
    return " ".join(f"{k}={v:.0f}" if isinstance(v, float) else f"{k}={v}" for k, v in stats.items())


# ---- part 1: kill -9 -> serving again ----------------------------------------------------------

def fleet_entry(api, tournament_id):
    """The tournament's server in the fleet view (GET /api/v1/servers, as its organizer): pid, port, status."""
    items = ok(api.get("/api/v1/servers"))["items"]
    found = [item for item in items if item["tournament_id"] == tournament_id]
    assert len(found) == 1, f"the fleet view lists {len(found)} servers of {tournament_id}"
    return found[0]


def server_pid(entry):
    """The pid the server on the fleet entry's port reports, asked on that port as an operator on the
    host would (a server's own /api/health is not reachable through the gateway)."""
    response = requests.get(f"http://{entry['host']}:{entry['port']}/api/health", timeout=5)
    return ok(response)["pid"]


def kill_trial(platform, number, args):
    api = platform.api
    tid = make_tournament(api, state="ACTIVE", teams=args.teams, name=f"Recovery {number}")["id"]
    gateway = f"/t/{tid}"
    pending = ok(api.get(f"{gateway}/api/matches", params={"status": "pending"}))["items"]
    for match in pending[:args.results]:
        ok(api.post(f"{gateway}/api/matches/{match['id']}/result", {"winner": match["team1_id"]}))
    state = ok(api.get(f"{gateway}/api/state"))
    before = (state["seq"], state["round"])
    matches_before = ok(api.get(f"{gateway}/api/matches"))
    row = platform.server_row(tid)
    old_pid = row["pid"]
    entry = fleet_entry(api, tid)
    answering_pid = server_pid(entry)
    run = {"tournament_id": tid, "before": {"seq": before[0], "round": before[1]}, "old_pid": old_pid,
           "error": None, "polls": {}, "wrong_state_200s": 0}
    if row["status"] != "RUNNING" or entry["status"] != "RUNNING" or not old_pid == entry["pid"] == answering_pid:
        run["error"] = (f"before the kill: status {row['status']} (fleet view {entry['status']}), table pid {old_pid},"
                        f" fleet view pid {entry['pid']}, answering pid {answering_pid}")
        return run

    session = requests.Session()
    state_url = f"{platform.url}{gateway}/api/state"
    session.get(state_url, timeout=5)  # a warm connection to the gateway
    kill_wall = time.time()
    killed = time.monotonic()
    os.kill(old_pid, signal.SIGKILL)
    deadline = killed + args.timeout
    answered = None
    while time.monotonic() < deadline:
        try:
            response = session.get(state_url, timeout=5)
            status = response.status_code
        except requests.RequestException as exc:
            response, status = None, type(exc).__name__
        if status == 200:
            at = time.monotonic()
            body = response.json()
            row = platform.server_row(tid)
            if (body["seq"], body["round"]) != before:
                run["wrong_state_200s"] += 1
            elif row and row["pid"] not in (None, old_pid) and row["status"] == "RUNNING":
                answered = at
                break
        run["polls"][str(status)] = run["polls"].get(str(status), 0) + 1
        time.sleep(args.poll_interval)
    session.close()
    if answered is None:
        run["error"] = f"no 200 with state {before} from a new pid within {args.timeout}s (saw {run['polls']})"
        return run

    run["kill_to_first_200_ms"] = ms(answered - killed)
    run["new_pid"] = row["pid"]
    run["restarts"] = row["restarts"]
    failures = json.loads(row["failure_times"] or "[]")
    run["kill_to_failure_recorded_ms"] = ms(failures[-1] - kill_wall) if failures else None
    run["kill_to_new_process_ms"] = ms(row["started_at"].timestamp() - kill_wall)
    run["new_process_to_first_200_ms"] = run["kill_to_first_200_ms"] - run["kill_to_new_process_ms"]
    run["last_error"] = row["last_error"]
    matches_after = ok(api.get(f"{gateway}/api/matches"))
    if matches_after != matches_before:
        run["error"] = "the matches after the restart differ from those before the kill"
    entry = fleet_entry(api, tid)
    health_pid = server_pid(entry)
    if not health_pid == entry["pid"] == row["pid"]:
        run["error"] = run["error"] or (f"the server on port {entry['port']} answers pid {health_pid}, the fleet view"
                                        f" says {entry['pid']}, the table {row['pid']}")
    return run


def kill_config(interval, args):
    env = {"SUPERVISE_INTERVAL": str(interval)}
    settings = effective_settings(env)
    print(f"\n-- kill -9 -> serving again: {args.trials} trials, one tournament each; supervisor settings: "
          + ", ".join(f"{k}={v}" for k, v in settings.items()), flush=True)
    runs, cancel_errors, rebuild = [], [], None
    with h.Platform(f"recovery-{interval}", port_count=args.trials + 20, env=env) as platform:
        for number in range(1, args.trials + 1):
            run = kill_trial(platform, number, args)
            runs.append(run)
            print(f"  {number:3d} {run['tournament_id']} seq={run['before']['seq']} round={run['before']['round']}: "
                  f"kill->200 {fmt(run.get('kill_to_first_200_ms'))} ms (detected +"
                  f"{fmt(run.get('kill_to_failure_recorded_ms'))}, launched +{fmt(run.get('kill_to_new_process_ms'))})"
                  f" pid {run['old_pid']}->{run.get('new_pid')}"
                  + (f"  ERROR {run['error']}" if run["error"] else ""), flush=True)
            response = platform.api.post(f"/api/v1/tournaments/{run['tournament_id']}/cancel")
            if response.status_code != 200:
                cancel_errors.append(f"{run['tournament_id']}: {response.status_code} {response.text[:200]}")
        if interval == args.supervise_interval[-1] and args.sizes:
            rebuild = rebuild_part(platform, args)
        problems = platform.log_problems()
    good = [r for r in runs if not r["error"]]
    figures = {
        "supervisor_settings": settings, "trials": len(runs),
        "errors": [r["error"] for r in runs if r["error"]] + cancel_errors,
        "kill_to_first_200_ms": h.percentiles([r["kill_to_first_200_ms"] for r in good]),
        "kill_to_failure_recorded_ms": h.percentiles([r["kill_to_failure_recorded_ms"] for r in good
                                                      if r["kill_to_failure_recorded_ms"] is not None]),
        "kill_to_new_process_ms": h.percentiles([r["kill_to_new_process_ms"] for r in good]),
        "new_process_to_first_200_ms": h.percentiles([r["new_process_to_first_200_ms"] for r in good]),
        "wrong_state_200s": sum(r["wrong_state_200s"] for r in runs),
        "platform_log_problems": problems,
    }
    return {"figures": figures, "runs": runs}, rebuild


# ---- part 2: rebuild time by log size ----------------------------------------------------------

def sample_shapes(platform):
    """The first events a real published tournament writes, and a real team registration and
    unregistration, as dicts {type: event}."""
    api = platform.api
    tid = make_tournament(api, state="REGISTRATION", teams=0, name="Shape sample", max_teams=8)["id"]
    team = ok(api.post(f"/t/{tid}/api/teams", {"name": "Shape Team", "players": ["a", "b"]}), 201)
    response = api.delete(f"/t/{tid}/api/teams/{team['id']}")
    assert response.status_code == 204, f"{response.status_code} {response.text[:300]}"
    stored = [json.loads(payload) for _seq, _type, payload in platform.events(tid)]
    ok(api.post(f"/api/v1/tournaments/{tid}/cancel"))
    shapes = {}
    for event in stored:
        shapes.setdefault(event["type"], event)
    assert [e["type"] for e in stored[:2]] == [ev.TOURNAMENT_PUBLISHED, ev.STATE_CHANGED], stored[:2]
    assert {ev.TEAM_REGISTERED, ev.TEAM_UNREGISTERED} <= set(shapes), list(shapes)
    return tid, shapes


def build_log(tid, name, count, shapes):
    """`count` events for tournament `tid`: the genesis, then register/unregister pairs (and a last
    registration when the count is odd), as (seq, type, payload text, created_at) rows."""
    base = datetime.now(timezone.utc) - timedelta(seconds=count // 100 + 60)
    rows = []

    def add(event):
        seq = len(rows) + 1
        at = base + timedelta(milliseconds=10 * seq)
        event.update(tournament_id=tid, seq=seq,
                     timestamp=at.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
        rows.append((seq, event["type"], ev.encode(event), at))

    published = copy.deepcopy(shapes[ev.TOURNAMENT_PUBLISHED])
    published["name"] = name
    add(published)
    add(copy.deepcopy(shapes[ev.STATE_CHANGED]))
    team_number = 0
    while len(rows) < count:
        team_number += 1
        team_id, team_name = f"team_{team_number}", f"Rebuild Team {team_number}"
        registered = copy.deepcopy(shapes[ev.TEAM_REGISTERED])
        registered["team"].update(id=team_id, name=team_name)
        add(registered)
        if len(rows) < count:
            unregistered = copy.deepcopy(shapes[ev.TEAM_UNREGISTERED])
            unregistered.update(team_id=team_id, name=team_name)
            add(unregistered)
    return rows, team_number


def insert_log(platform, tid, rows):
    """COPY the rows into tournament_events; returns seconds taken."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for seq, event_type, payload, at in rows:
        writer.writerow((tid, seq, event_type, payload, at.isoformat()))
    buffer.seek(0)
    started = time.perf_counter()
    raw = platform.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.copy_expert("COPY tournament_events (tournament_id, seq, type, payload, created_at) "
                           "FROM STDIN WITH (FORMAT csv)", buffer)
        cursor.execute("ANALYZE tournament_events")
        raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - started


def in_process(engine, tid):
    """Seconds for: the DB read of the payload texts (same query and streaming options as
    EventLog.load), their JSON decoding, the fold of the decoded events into a Tournament, and the
    real path (EventLog.load() folded event by event, as TournamentServer._load does); plus the
    final state."""
    import sqlalchemy as sa
    from shared.db.tables import tournament_events as te

    query = sa.select(te.c.payload).where(te.c.tournament_id == tid).order_by(te.c.seq)
    started = time.perf_counter()
    with engine.connect() as conn:
        texts = [payload for (payload,) in
                 conn.execution_options(stream_results=True, yield_per=2000).execute(query)]
    read = time.perf_counter() - started
    # Decoded one at a time and dropped, as the streaming load does: keeping 100k fresh dicts alive
    # would add the cyclic GC's promotions of them, which the server does not pay.
    started = time.perf_counter()
    for text in texts:
        json.loads(text)
    decode = time.perf_counter() - started
    decoded = [json.loads(text) for text in texts]
    started = time.perf_counter()
    folded = Tournament(tid)
    for event in decoded:
        folded.apply(event)
    fold = time.perf_counter() - started
    started = time.perf_counter()
    real = Tournament(tid)
    for event in EventLog(engine, tid).load():
        real.apply(event)
    whole = time.perf_counter() - started
    assert real.seq == folded.seq and real.teams == folded.teams and real.state == folded.state
    return {"read": read, "decode": decode, "fold": fold, "load_and_fold": whole}, real


def start_server(platform, tid, expect_seq, timeout, poll_interval):
    """Seconds from Popen of `run.py tournament` to its first 200 on /api/health with seq
    `expect_seq`, and its RSS then; the process is stopped before returning."""
    port = h.free_port()
    log_path = Path(platform.instance, "logs", f"rebuild-{tid}.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **platform.server_env(), "SERVER_TOKEN": f"bench-{tid}", "LOG_FILE": str(log_path)}
    url = f"http://127.0.0.1:{port}/api/health"
    session = requests.Session()
    with open(log_path.with_suffix(".out"), "ab") as early:
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, str(h.ROOT / "run.py"), "tournament", "--id", tid,
                                    "--host", "127.0.0.1", "--port", str(port)],
                                   cwd=h.ROOT, env=env, stdout=early, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = started + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"tournament server {tid} exited with {process.returncode} (see {log_path})")
            try:
                response = session.get(url, timeout=5)
                if response.status_code == 200:
                    healthy = time.monotonic()
                    body = response.json()
                    if body["seq"] != expect_seq or body["token"] != f"bench-{tid}":
                        raise RuntimeError(f"{tid}: health says seq {body['seq']}, expected {expect_seq}")
                    rss = psutil.Process(process.pid).memory_info().rss / 2**20
                    return healthy - started, rss
            except requests.RequestException:
                pass
            time.sleep(poll_interval)
        raise RuntimeError(f"tournament server {tid} not healthy within {timeout}s")
    finally:
        session.close()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def rebuild_part(platform, args):
    print(f"\n-- state rebuild by log size (median of {args.repeats})", flush=True)
    sample_id, shapes = sample_shapes(platform)
    engine = make_engine(platform.database_url)
    with engine.connect() as conn:  # warm the pool: the timings below exclude the first connect
        conn.exec_driver_sql("SELECT 1")
    rows_out = []
    try:
        for count in [2, *args.sizes]:
            tid = ok(platform.api.post("/api/v1/tournaments", {
                "name": f"Rebuild {count}", "game": "chess", "max_teams": 8, "min_teams": 2}), 201)["id"]
            log_rows, teams = build_log(tid, f"Rebuild {count}", count, shapes)
            insert_s = insert_log(platform, tid, log_rows)
            samples = {"read": [], "decode": [], "fold": [], "load_and_fold": [], "process": [], "rss": []}
            for _ in range(args.repeats):
                timings, state = in_process(engine, tid)
                for key, value in timings.items():
                    samples[key].append(value)
            expected_teams = 1 if count > 2 and (count - 2) % 2 else 0
            if (state.seq, state.state, state.teams_registered, len(state.teams)) != (
                    count, "REGISTRATION", teams, expected_teams):
                raise RuntimeError(f"{tid}: the fold ended at seq {state.seq}, {state.state}, "
                                   f"{state.teams_registered} registered, {len(state.teams)} teams")
            for _ in range(args.repeats):
                took, rss = start_server(platform, tid, count, args.start_timeout, args.poll_interval)
                samples["process"].append(took)
                samples["rss"].append(rss)
            row = {"events": count, "tournament_id": tid, "teams_registered": teams, "insert_ms": ms(insert_s),
                   **{f"{key}_ms": ms(statistics.median(values)) for key, values in samples.items() if key != "rss"},
                   "process_start_to_healthy_all_ms": [ms(v) for v in samples["process"]],
                   "server_rss_mib": statistics.median(samples["rss"])}
            rows_out.append(row)
            print(f"  {count:>7d} events ({tid}): read {fmt(row['read_ms'], 1)} ms, decode {fmt(row['decode_ms'], 1)},"
                  f" fold {fmt(row['fold_ms'], 1)}, EventLog.load+fold {fmt(row['load_and_fold_ms'], 1)},"
                  f" process start->healthy {fmt(row['process_ms'])} ms, RSS {row['server_rss_mib']:.0f} MiB"
                  f" (COPY {fmt(row['insert_ms'])} ms)", flush=True)
    finally:
        engine.dispose()
    return {"sample_tournament": sample_id, "shapes": {k: v for k, v in shapes.items()}, "rows": rows_out}


# ---- the report --------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20, help="kill -9 trials per supervisor configuration")
    parser.add_argument("--supervise-interval", type=float, nargs="+", default=[1.0, 0.2],
                        help="SUPERVISE_INTERVAL of each configuration, one fresh platform each")
    parser.add_argument("--teams", type=int, default=8, help="teams of each killed tournament")
    parser.add_argument("--results", type=int, default=2, help="results recorded before the kill")
    parser.add_argument("--poll-interval", type=float, default=0.005, help="seconds between polls")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per kill trial")
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000, 100000],
                        help="log sizes for the rebuild part (a genesis-only log is added); none to skip")
    parser.add_argument("--repeats", type=int, default=5, help="rebuild measurements per size (median)")
    parser.add_argument("--start-timeout", type=float, default=120.0, help="seconds for a server to be healthy")
    parser.add_argument("--name", default="recovery", help="results file name")
    args = h.parse_args(parser, smoke={"trials": 1, "supervise_interval": [0.2], "sizes": [200], "repeats": 1,
                                       "name": "recovery_smoke"})
    info = h.print_header("Recovery: kill -9 -> serving again through the gateway; state rebuild by log size",
                          vars(args))
    began = time.monotonic()
    configs, rebuild = [], None
    for interval in args.supervise_interval:
        result, rebuilt = kill_config(interval, args)
        configs.append(result)
        rebuild = rebuilt or rebuild

    print("\n== kill -9 -> first 200 with the same state from a new pid (ms)")
    print(f"{'SUPERVISE_INTERVAL':>18} {'backoff base':>12} {'n':>3} {'p50':>6} {'p99':>6} {'max':>6} {'mean':>6}"
          f" | {'detect p50':>10} {'launch p50':>10} {'launch->200 p50':>15} | errors")
    for result in configs:
        f = result["figures"]
        s, k = f["supervisor_settings"], f["kill_to_first_200_ms"]
        print(f"{s['SUPERVISE_INTERVAL']:>18} {s['RESTART_BACKOFF_BASE']:>12} {k['n']:>3} {fmt(k['p50']):>6}"
              f" {fmt(k['p99']):>6} {fmt(k['max']):>6} {fmt(k['mean']):>6} |"
              f" {fmt(f['kill_to_failure_recorded_ms']['p50']):>10} {fmt(f['kill_to_new_process_ms']['p50']):>10}"
              f" {fmt(f['new_process_to_first_200_ms']['p50']):>15} | {len(f['errors'])}")
        for key in ("kill_to_failure_recorded_ms", "kill_to_new_process_ms", "new_process_to_first_200_ms"):
            print(f"    {key}: {stats_line(f[key])}")
        for line in f["errors"] + f["platform_log_problems"]:
            print(f"    ! {line}")
    if rebuild:
        print("\n== state rebuild by log size (ms, median)")
        print(f"{'events':>8} {'DB read':>8} {'decode':>8} {'fold':>8} {'load+fold':>10} {'process start->healthy':>23}"
              f" {'(min-max)':>12} {'RSS MiB':>8}")
        for row in rebuild["rows"]:
            print(f"{row['events']:>8} {fmt(row['read_ms'], 1):>8} {fmt(row['decode_ms'], 1):>8}"
                  f" {fmt(row['fold_ms'], 1):>8} {fmt(row['load_and_fold_ms'], 1):>10} {fmt(row['process_ms']):>23}"
                  f" {min(row['process_start_to_healthy_all_ms']):>5.0f}-{max(row['process_start_to_healthy_all_ms']):<6.0f}"
                  f" {row['server_rss_mib']:>8.0f}")
    elapsed = time.monotonic() - began
    print(f"\ntotal bench time {elapsed:.0f} s")
    errors = [e for result in configs for e in result["figures"]["errors"]]
    h.write_results(args.name, {"machine": info, "parameters": vars(args), "elapsed_s": elapsed,
                                "kill_recovery": configs, "rebuild": rebuild})
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
