"""The match engine on its own (no database, no HTTP): how long building, playing, pairing and
replaying take at the sizes organizers run.

1. Double elimination of --de-teams (4096): build the bracket, then play every match through
   the pure engine (`double_elimination.play_result`) and through the tournament aggregate
   (decide + fold, as the server does, JSON encoding of each event included).
2. Swiss of --swiss-teams (1024) over its default ceil(log2 n) rounds, random results with
   draws: the pairing time of every round (`swiss.pair_round`).
3. Round robin of --rr-teams (64): the schedule, every result through the aggregate, the standings.
4. Replay: a log of about --replay-events (100k) events made by the aggregate (a round robin with
   enough teams), decoded from JSON text and folded into a fresh aggregate, as a restarting server
   does after reading it from the database.

Run: .venv/bin/python -m bench.engine [--de-teams 4096] [--swiss-teams 1024] [--rr-teams 64]
     [--replay-events 100000] [--seed 1]
"""
import argparse
import math
import random
import time

from bench.harness import parse_args, print_header, write_results
from shared import events
from tests.support.aggregate import Driver
from tournament_service.engine import double_elimination as de
from tournament_service.engine import routing, swiss
from tournament_service.tournament import Tournament


def timed(call):
    start = time.perf_counter()
    value = call()
    return value, time.perf_counter() - start


def aggregate(format_name, teams, **options):
    """(a started aggregate with `teams` teams, the seconds `start` took): building the format's
    matches and encoding the event that carries them."""
    d = Driver()
    d.publish(max_teams=teams, format=format_name, options=options)
    for number in range(teams):
        d.register(f"Team {number + 1}")
    _events, seconds = timed(d.start)
    return d, seconds


def play_through(d, rnd):
    """Every match to the end, a random winner each; (results, seconds)."""
    results = 0
    start = time.perf_counter()
    while d.t.state == "ACTIVE":
        for match in d.t.match_list():
            if d.t.state != "ACTIVE" or d.t.matches[match["id"]]["status"] != "pending":
                continue
            d.result(match["id"], rnd.choice((match["team1_id"], match["team2_id"])))
            results += 1
    return results, time.perf_counter() - start


def double_elimination(teams, rnd):
    ids = [f"team_{n}" for n in range(1, teams + 1)]
    bracket, build_s = timed(lambda: de.build(ids, "reset"))
    matches, played = dict(bracket["matches"]), 0
    start = time.perf_counter()
    while True:
        ready = routing.ready_matches({"matches": matches})
        if not ready:
            break
        for match in ready:
            winner = rnd.choice((match["team1_id"], match["team2_id"]))
            matches.update(de.play_result(dict(bracket, matches=matches), match["id"], winner))
            played += 1
    pure_s = time.perf_counter() - start
    d, start_s = aggregate("double_elimination", teams, grand_final="reset")
    results, agg_s = play_through(d, rnd)
    return {"teams": teams, "matches": len(bracket["matches"]), "build_ms": build_s * 1000,
            "pure_play_ms": pure_s * 1000, "pure_per_result_us": pure_s / played * 1e6, "pure_results": played,
            "aggregate_start_ms": start_s * 1000, "aggregate_play_ms": agg_s * 1000,
            "aggregate_per_result_us": agg_s / results * 1e6, "aggregate_results": results,
            "champion": d.t.champion is not None}


def swiss_rounds(teams, rnd):
    ids = [f"team_{n}" for n in range(1, teams + 1)]
    rounds = swiss.default_rounds(teams)
    history, per_round = [], []
    for round_no in range(1, rounds + 1):
        paired, seconds = timed(lambda: swiss.pair_round(round_no, ids, history))
        per_round.append(seconds * 1000)
        for match in paired:
            if match["status"] == "pending":
                roll = rnd.random()
                winner = None if roll < 0.1 else match["team1_id"] if roll < 0.55 else match["team2_id"]
                match.update(status="completed", winner=winner)
        history.extend(paired)
    pairs = [frozenset((m["team1_id"], m["team2_id"])) for m in history if m["team2_id"] is not None]
    return {"teams": teams, "rounds": rounds, "pairing_ms_per_round": per_round,
            "rematches": len(pairs) - len(set(pairs))}


def round_robin(teams, rnd):
    d, start_s = aggregate("round_robin", teams, allow_draws=True)
    results, play_s = play_through(d, rnd)
    rows, standings_s = timed(d.t.standings)
    return {"teams": teams, "matches": len(d.t.matches), "start_ms": start_s * 1000, "play_ms": play_s * 1000,
            "per_result_us": play_s / results * 1e6, "standings_ms": standings_s * 1000, "rows": len(rows)}


def replay(target_events, rnd):
    # A round robin of n teams writes about n(n-1)/2 results: pick n for the target.
    teams = max(4, math.ceil((1 + math.sqrt(1 + 8 * target_events)) / 2))
    d, make_s = aggregate("round_robin", teams)
    _results, play_s = play_through(d, rnd)
    log_bytes = sum(len(text) for text in d.log)

    def fold():
        fresh = Tournament(d.t.id)
        for text in d.log:
            fresh.apply(events.decode(text))
        return fresh
    runs = []
    for _ in range(3):
        fresh, seconds = timed(fold)
        runs.append(seconds)
    assert fresh.matches == d.t.matches and fresh.summary() == d.t.summary()
    return {"teams": teams, "events": len(d.log), "log_mib": log_bytes / 2**20,
            "write_s": make_s + play_s, "replay_ms_runs": [r * 1000 for r in runs],
            "replay_us_per_event": min(runs) / len(d.log) * 1e6}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--de-teams", type=int, default=4096)
    parser.add_argument("--swiss-teams", type=int, default=1024)
    parser.add_argument("--rr-teams", type=int, default=64)
    parser.add_argument("--replay-events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--name", default="engine", help="results file name")
    args = parse_args(parser, smoke={"de_teams": 16, "swiss_teams": 16, "rr_teams": 6, "replay_events": 500,
                                     "name": "engine_smoke"})
    info = print_header("match engine", vars(args))
    rnd = random.Random(args.seed)

    figures = {"machine": info}
    figures["double_elimination"] = dee = double_elimination(args.de_teams, rnd)
    print(f"double elimination, {dee['teams']} teams, {dee['matches']} matches: build {dee['build_ms']:.0f} ms; "
          f"pure engine {dee['pure_results']} results in {dee['pure_play_ms']:.0f} ms "
          f"({dee['pure_per_result_us']:.0f} us each); aggregate start {dee['aggregate_start_ms']:.0f} ms, "
          f"{dee['aggregate_results']} results in {dee['aggregate_play_ms']:.0f} ms "
          f"({dee['aggregate_per_result_us']:.0f} us each)", flush=True)
    figures["swiss"] = sw = swiss_rounds(args.swiss_teams, rnd)
    print(f"swiss, {sw['teams']} teams, {sw['rounds']} rounds: pairing ms per round "
          + ", ".join(f"{ms:.1f}" for ms in sw["pairing_ms_per_round"]) + f"; rematches {sw['rematches']}", flush=True)
    figures["round_robin"] = r = round_robin(args.rr_teams, rnd)
    print(f"round robin, {r['teams']} teams, {r['matches']} matches: start {r['start_ms']:.0f} ms, "
          f"all results {r['play_ms']:.0f} ms ({r['per_result_us']:.0f} us each), standings {r['standings_ms']:.0f} ms",
          flush=True)
    figures["replay"] = rp = replay(args.replay_events, rnd)
    print(f"replay: {rp['events']} events ({rp['log_mib']:.1f} MiB of JSON, a {rp['teams']}-team round robin, "
          f"written in {rp['write_s']:.1f} s): folded in "
          + ", ".join(f"{ms:.0f}" for ms in rp["replay_ms_runs"]) + f" ms ({rp['replay_us_per_event']:.1f} us/event)")
    write_results(args.name, figures)


if __name__ == "__main__":
    main()
