"""Swiss pairing quality: how often a round has the smallest total score difference possible.

For each field size, --events random events (default rounds, results 45/45/10 win/loss/draw on
3/1/0 points, an odd field's bye as the engine gives it) are paired by the engine round after
round. Every round is scored by (rematches, total score difference of its pairs) against:

- the exact least (rematches, difference) over every pairing of the round's paired teams (a
  dynamic program over subsets, `tests.support.swiss_reference.cheapest`), for fields of up to
  --exact-max teams;
- above that, the lower bound of `swiss_cost.crossing_bounds` (a round on it is surely minimal;
  one above it may still be).

It prints the share of rounds at the minimum (or on the bound), the rounds with more rematches
than needed (must be 0), and the pairing time per round. With --before REV it also runs the Swiss
engine as it was at git revision REV, on the same events, for comparison.

Run: .venv/bin/python -m bench.swiss_quality [--sizes 8,10,12,16,24,32,64,128] [--events 40]
     [--exact-max 16] [--seed 1] [--before REV]    (--smoke: 8, 12 and 24 teams, 3 events)
"""
import argparse
import importlib.util
import random
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import ROOT, parse_args, print_header, write_results
from tests.support.swiss_reference import cheapest, round_cost, scores_and_meetings
from tournament_service.engine import swiss, swiss_cost

POINTS = (3, 1, 0)


def engine_at(revision):
    """The swiss module as it was at git `revision`, importable beside today's."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:tournament_service/engine/swiss.py"],
                            check=True, capture_output=True, text=True).stdout
    path = Path("/tmp") / f"swiss_{revision}.py"
    path.write_text(source.replace("from . import", "from tournament_service.engine import")
                    .replace("from .", "from tournament_service.engine."))
    spec = importlib.util.spec_from_file_location(f"swiss_{revision}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def lower_bound(teams, matches, paired):
    """The crossing bound of `swiss_cost` for the paired teams of a round (score units)."""
    score, _met = scores_and_meetings(teams, matches, POINTS)
    seed = {team: number for number, team in enumerate(teams)}
    ranked = sorted(paired, key=lambda team: (-score[team], seed[team]))
    _score, met, byes = swiss._history({team: n for n, team in enumerate(teams, start=1)}, matches, POINTS)
    draw = swiss._Draw(ranked, score, met, byes)
    return sum(gap * count for gap, count in zip(draw.gap, swiss_cost.crossing_bounds(draw, list(range(len(ranked))), 0)))


def play_event(engine, size, rnd, exact_max):
    """[(at the minimum or on the bound, needless rematches, ms)] for each round of one event."""
    teams = [f"t{n}" for n in range(1, size + 1)]
    history, rounds = [], []
    for round_no in range(1, swiss.default_rounds(size) + 1):
        start = time.perf_counter()
        paired = engine.pair_round(round_no, teams, history, points=POINTS)
        ms = (time.perf_counter() - start) * 1000
        score, met = scores_and_meetings(teams, history, POINTS)
        got = round_cost(paired, score, met)
        playing = [t for m in paired if m["team2_id"] is not None for t in (m["team1_id"], m["team2_id"])]
        if size <= exact_max:
            best = cheapest(playing, score, met)
            rounds.append((got == best, got[0] > best[0], ms))
        else:
            rounds.append((got[0] == 0 and got[1] == lower_bound(teams, history, playing), False, ms))
        for match in paired:
            if match["status"] == "pending":
                roll = rnd.random()
                match.update(status="completed",
                             winner=None if roll < 0.1 else match["team1_id"] if roll < 0.55 else match["team2_id"])
        history += paired
    return rounds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="8,10,12,16,24,32,64,128")
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--exact-max", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--before")
    parser.add_argument("--name", default="swiss_quality", help="results file name")
    args = parse_args(parser, smoke={"sizes": "8,12,24", "events": 3, "exact_max": 12, "name": "swiss_quality_smoke"})
    info = print_header("swiss: rounds at the smallest total score difference", vars(args))
    figures, needless = [], 0
    engines = [("now", swiss)] + ([(f"at {args.before}", engine_at(args.before))] if args.before else [])
    for size in (int(text) for text in args.sizes.split(",")):
        kind = "exact minimum" if size <= args.exact_max else "crossing lower bound"
        for name, engine in engines:
            rounds = []
            for event in range(args.events):
                rounds += play_event(engine, size, random.Random(args.seed * 7919 + event), args.exact_max)
            at_min = sum(1 for ok, _extra, _ms in rounds if ok)
            extra = sum(1 for _ok, more, _ms in rounds if more)
            times = sorted(ms for _ok, _more, ms in rounds)
            print(f"{size:5} teams, {name:14} {at_min / len(rounds):7.1%} of {len(rounds)} rounds at the {kind}; "
                  f"needless rematches {extra}; ms/round median {times[len(times) // 2]:.1f} max {times[-1]:.1f}",
                  flush=True)
            figures.append({"teams": size, "engine": name, "rounds": len(rounds), "against": kind,
                            "share_at_minimum": at_min / len(rounds), "needless_rematches": extra,
                            "ms_per_round_median": times[len(times) // 2], "ms_per_round_max": times[-1]})
            needless += extra
    write_results(args.name, {"machine": info, "parameters": vars(args), "figures": figures})
    if needless:
        print(f"ERROR: {needless} round(s) with more rematches than needed")
    return 1 if needless else 0


if __name__ == "__main__":
    sys.exit(main())
