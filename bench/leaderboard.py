"""The leaderboard's full recompute: every ended tournament of a game read from its log and rated.

Plays --tournaments tournaments of --teams teams (format --format, teams drawn from a pool of
--pool names so they meet again across tournaments, random winners from a fixed seed) with the
aggregate, writes them COMPLETED into a fresh PostgreSQL database, then times what a read of the
leaderboard costs: a cold full recompute (reading the logs, then rating), and a read the cache
answers (the query for the set of ended tournaments, and the page).

It runs under gevent, as the orchestrator's worker does, and also reports the longest stall of the
gevent hub during a cold read (what every other request and SSE viewer of that worker waits), with
the fold run off the hub as it is served, and called in place as it was before.

    .venv/bin/python -m bench.leaderboard [--tournaments 200] [--teams 64] [--format swiss]
"""
from gevent import monkey

monkey.patch_all()
import psycogreen.gevent  # noqa: E402

psycogreen.gevent.patch_psycopg()
import argparse  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

from flask import Flask  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import gevent  # noqa: E402

from bench.harness import parse_args, print_header, write_results  # noqa: E402
from orchestrator.extensions import db  # noqa: E402
from orchestrator.services import leaderboard, ratings  # noqa: E402
from shared.db.engine import make_engine  # noqa: E402
from tests.support.services import scratch_database  # noqa: E402
from tests.support.played import PlayedTournament  # noqa: E402

GAME = "bench game"


def play_all(engine, args):
    """Play and write the tournaments; the number of rated matches and the team names met."""
    rng = random.Random(7)
    pool = [f"Team {n}" for n in range(args.pool)]
    matches, met = 0, set()
    for _ in range(args.tournaments):
        names = rng.sample(pool, args.teams)
        played = PlayedTournament(GAME, names, args.format).start()
        played.play_out(lambda one, two: rng.choice((one, two)))
        played.write(engine)
        matches += sum(1 for e in played.log if e["type"] == "match_result")
        met.update(names)
    return matches, met


def longest_stall(function):
    """(the longest gap, in seconds, between ticks of a greenlet asking to run every 5 ms while
    `function()` runs, its result)."""
    gaps, done = [0.0], []

    def tick():
        last = time.perf_counter()
        while not done:
            gevent.sleep(0.005)
            now = time.perf_counter()
            gaps[0] = max(gaps[0], now - last - 0.005)
            last = now

    ticker = gevent.spawn(tick)
    gevent.sleep(0)
    try:
        result = function()
    finally:
        done.append(True)
        ticker.join()
    return gaps[0], result


def timed(function, repeat=1):
    started = time.perf_counter()
    for _ in range(repeat):
        result = function()
    return (time.perf_counter() - started) / repeat, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tournaments", type=int, default=200)
    parser.add_argument("--teams", type=int, default=64)
    parser.add_argument("--pool", type=int, default=1000, help="distinct team names to draw from")
    parser.add_argument("--format", default="swiss")
    parser.add_argument("--name", default="leaderboard", help="results file name")
    args = parse_args(parser, smoke={"tournaments": 3, "teams": 8, "pool": 12, "name": "leaderboard_smoke"})
    info = print_header("leaderboard full recompute", vars(args))
    with scratch_database(f"bench_board_{uuid.uuid4().hex[:8]}") as url:
        engine = make_engine(url)
        try:
            setup, (match_count, met) = timed(lambda: play_all(engine, args))
            print(f"played and wrote {args.tournaments} x {args.teams} teams ({match_count} results) in {setup:.1f} s")
            app = Flask(__name__)
            app.config.update(SQLALCHEMY_DATABASE_URI=url)
            db.init_app(app)
            with app.app_context():
                ended = leaderboard.ended_tournament_ids(GAME)
                load, results = timed(lambda: leaderboard.tournament_results(ended))
                played = [m for _key, matches in sorted(results.values()) for m in matches]
                rate, board = timed(lambda: ratings.rate(played))
                cache = leaderboard.BoardCache()
                cold, _ = timed(lambda: leaderboard.leaderboard(GAME, cache, 50))
                warm, (page, _cursor) = timed(lambda: leaderboard.leaderboard(GAME, cache, 50), repeat=20)
                # One more tournament completes: only its log is read and its matches folded in.
                rng = random.Random(8)
                extra = PlayedTournament(GAME, rng.sample(sorted(met), args.teams), args.format).start()
                extra.play_out(lambda one, two: rng.choice((one, two))).write(engine)
                one_more, _ = timed(lambda: leaderboard.leaderboard(GAME, cache, 50))
                again = ratings.rate([m for _key, matches in sorted(leaderboard.tournament_results(
                    leaderboard.ended_tournament_ids(GAME)).values()) for m in matches])
                incremental_right = {k: (r.mu, r.sigma) for k, r in leaderboard.board_of(GAME, cache).items()} == {
                    k: (r.mu, r.sigma) for k, r in again.items()}
                # The hub while a cold read folds everything: as served, then with the work in place.
                stall, _ = longest_stall(lambda: leaderboard.leaderboard(GAME, leaderboard.BoardCache(), 50))
                served_in_place = leaderboard.off_the_hub
                leaderboard.off_the_hub = lambda work, *a: work(*a)
                try:
                    stall_in_place, _ = longest_stall(lambda: leaderboard.leaderboard(GAME, leaderboard.BoardCache(), 50))
                finally:
                    leaderboard.off_the_hub = served_in_place
                db.session.remove()
            if (len(played) != match_count or set(r.team for r in board.values()) != met
                    or len(page) != min(50, len(met)) or not incremental_right):
                print(f"wrong board: {len(played)} rated matches of {match_count}, {len(board)} teams of {len(met)}, "
                      f"incremental fold equal to a full one: {incremental_right}")
                return 1
            print(f"full recompute (cold read of the first page): {cold * 1000:.0f} ms = reading the logs "
                  f"{load * 1000:.0f} ms + rating {len(played)} matches {rate * 1000:.0f} ms "
                  f"({len(played) / rate:,.0f} matches/s); a cached read {warm * 1000:.1f} ms; "
                  f"the first read after one more tournament completed {one_more * 1000:.0f} ms")
            print(f"longest stall of the gevent hub during a cold read: {stall * 1000:.0f} ms with the work off the "
                  f"hub (as served), {stall_in_place * 1000:.0f} ms with it in place (before)")
            write_results(args.name, {"machine": info, "parameters": vars(args), "figures": {
                "rated_matches": len(played), "teams": len(board), "full_recompute_ms": cold * 1000,
                "read_logs_ms": load * 1000, "rate_ms": rate * 1000, "cached_read_ms": warm * 1000,
                "one_more_tournament_ms": one_more * 1000, "hub_stall_ms": stall * 1000,
                "hub_stall_in_place_ms": stall_in_place * 1000}})
            return 0
        finally:
            engine.dispose()


if __name__ == "__main__":
    status = main()
    # Under gevent, the interpreter's teardown trips over logging's handler references ("greenlet
    # is being finalized"): everything is written and closed by now, so leave without it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
