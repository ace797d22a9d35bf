"""Big events: starting a 1,024-team round robin and a 4,096-team double elimination on a real
tournament server, and whether it keeps answering while it starts.

For each event: a fresh PostgreSQL database and Redis namespace; a registry row and a log of the
tournament's publication and N team registrations (each team its own captain) written straight
into `tournament_events` (registering thousands of teams over HTTP would only time the
registrations); then `run.py tournament` serves it, and `POST /api/start`, signed as the
organizer as the gateway signs, starts it. Meanwhile two pollers ask `GET /api/health` and `GET
/api/state` back to back (1 s timeout each, as the supervisor's check). Printed: seconds to start,
the events and notifications written (rows, bytes, largest row), the longest gap between two
answers of each poller during the start (the supervisor restarts a server after 3 failed checks
of 1 s, one a second), failed polls, the server's peak RSS (VmHWM), and how long the reads of a
started event take (GET /api/matches, /api/standings, /api/bracket: each holds the server as long).

    .venv/bin/python -m bench.big_events                  # 1,024 RR and 4,096 DE
    .venv/bin/python -m bench.big_events --smoke          # CI: 32 RR and 64 DE
    .venv/bin/python -m bench.big_events --rr-teams 256 --de-teams 0
"""
import argparse
import contextlib
import os
import tempfile
import time
import uuid

import redis
import requests
import sqlalchemy as sa

from bench.harness import REDIS_URL, parse_args, print_header, write_results

from shared.db.tables import notifications, tournament_events
from shared.identity import sign
from tests.support.big_events import ORGANIZER, Poller, write_registered_tournament
from tests.support.processes import Proc, free_port, wait_http
from tests.support.services import delete_namespace, scratch_database

SECRET = "bench-gateway-secret-" + "x" * 16


@contextlib.contextmanager
def fresh_database():
    """A database of its own (dropped after) and a Redis namespace (its keys deleted after)."""
    name = f"bench_big_{uuid.uuid4().hex[:10]}"
    namespace = f"bench-{name}:"
    with scratch_database(name) as url:
        try:
            yield url, namespace
        finally:
            client = redis.Redis.from_url(REDIS_URL)
            delete_namespace(client, namespace)
            client.close()


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def written(engine, tournament_id, after_seq):
    """What the start stored: (events, their bytes, the largest), (notifications, their bytes, users)."""
    with engine.connect() as conn:
        ev = conn.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(sa.func.length(
            tournament_events.c.payload)), 0), sa.func.coalesce(sa.func.max(sa.func.length(
                tournament_events.c.payload)), 0))
            .where(tournament_events.c.tournament_id == tournament_id, tournament_events.c.seq > after_seq)).one()
        notes = conn.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(sa.func.length(
            notifications.c.payload)), 0), sa.func.count(sa.distinct(notifications.c.user_id)))
            .where(notifications.c.tournament_id == tournament_id)).one()
    return tuple(ev), tuple(notes)


def start_big_event(format_name, teams, workdir, start_timeout):
    """Serve a registered tournament of `teams` teams, start it, and measure. Returns the figures."""
    with fresh_database() as (url, namespace):
        engine = sa.create_engine(url, pool_size=1)
        tournament_id, seq = write_registered_tournament(engine, format_name, teams)
        port = free_port()
        env = {"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "REDIS_NAMESPACE": namespace, "MIGRATE_ON_START": "0",
               "GATEWAY_SECRET": SECRET, "INSTANCE_PATH": workdir, "SERVER_TOKEN": "bench"}
        server = Proc(["tournament", "--id", tournament_id, "--port", str(port)], env,
                      os.path.join(workdir, f"{tournament_id}.log"))
        base = f"http://127.0.0.1:{port}"
        pollers = []
        try:
            loaded = time.monotonic()
            wait_http(base + "/api/health", timeout=120, process=server.process)
            loaded = time.monotonic() - loaded
            pollers = [Poller(base + "/api/health"), Poller(base + "/api/state")]
            for poller in pollers:
                poller.start()
            time.sleep(0.3)
            failures_before = [p.failures for p in pollers]
            path = "/api/start"
            headers = sign(SECRET, tournament_id, "POST", path, ORGANIZER, ["organizer"])
            began = time.monotonic()
            try:
                answer = requests.post(base + path, json={}, headers=headers, timeout=start_timeout)
                status, text = answer.status_code, answer.text
            except requests.Timeout:
                status, text = "timeout", f"no answer within {start_timeout} s"
            ended = time.monotonic()
            time.sleep(0.3)
            for poller in pollers:
                poller.stop()
            reads = {}
            for read in ("/api/matches", "/api/standings", "/api/bracket"):
                asked = time.monotonic()
                requests.get(base + read, timeout=60).raise_for_status()
                reads[read.rsplit("/", 1)[1] + "_s"] = round(time.monotonic() - asked, 3)
            (event_rows, event_bytes, largest), (note_rows, note_bytes, users) = written(engine, tournament_id, seq)
            return {
                "format": format_name, "teams": teams, "status": status,
                "answer": text[:200] if status != 200 else "ok",
                "load_s": round(loaded, 2), "start_s": round(ended - began, 2),
                "events": event_rows, "event_mib": round(event_bytes / 2**20, 2),
                "largest_event_kib": round(largest / 1024, 1),
                "notifications": note_rows, "notification_mib": round(note_bytes / 2**20, 2),
                "notified_users": users,
                "health_max_gap_s": round(pollers[0].longest_gap(began, ended), 3),
                "state_max_gap_s": round(pollers[1].longest_gap(began, ended), 3),
                "health_failures": pollers[0].failures - failures_before[0],
                "state_failures": pollers[1].failures - failures_before[1],
                "server_alive": server.alive(), "peak_rss_mib": peak_rss_mib(server.pid),
                **{f"read_{name}": value for name, value in reads.items()},
            }
        finally:
            for poller in pollers:
                poller.stop()
            server.stop()
            engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rr-teams", type=int, default=1024)
    parser.add_argument("--de-teams", type=int, default=4096)
    parser.add_argument("--start-timeout", type=float, default=1800, help="give up waiting for the start after this")
    parser.add_argument("--name", default="big_events", help="results file name")
    args = parse_args(parser, smoke={"rr_teams": 32, "de_teams": 64, "start_timeout": 120, "name": "big_events_smoke"})
    info = print_header("big events: starting them, and answering meanwhile", vars(args))
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-big-") as workdir:
        for format_name, teams in (("round_robin", args.rr_teams), ("double_elimination", args.de_teams)):
            if teams:
                figures = start_big_event(format_name, teams, workdir, args.start_timeout)
                results.append(figures)
                print(" ".join(f"{key}={value}" for key, value in figures.items()), flush=True)
    write_results(args.name, {"machine": info, "parameters": vars(args), "events": results})
    failed = [r for r in results if r["status"] != 200 or not r["server_alive"]]
    if failed:
        raise SystemExit(f"{len(failed)} event(s) did not start")


if __name__ == "__main__":
    main()
