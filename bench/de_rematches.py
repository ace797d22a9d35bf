"""Double elimination: losers'-bracket rematches over whole random playthroughs.

For each bracket size (4 to --max-size slots, full of teams, and again about three quarters full,
the rest byes) and each way of ordering the drop-downs, the mean number of losers'-bracket matches
per event whose two teams had already met, over --events random playthroughs (every match a coin
flip, the same coins for every ordering: `tests.support.brackets.Playthroughs`), with the losers'
rounds they happened in. The orderings:

- alternation: natural, reverse, natural, ... (the engine's first orders);
- brackets-manager.js's defaults (4 to 128 slots);
- before: the orders this engine used until the playthrough measure (`BEFORE` below);
- ours: `double_elimination.drop_orders`.

`--search` looks for the orders with the fewest rematches: every combination up to 32 slots,
coordinate descent (one winners' round at a time, the five orderings each) above, each candidate
on the same --search-events playthroughs; it prints the best found next to ours.

Run: .venv/bin/python -m bench.de_rematches [--min-size 4] [--max-size 1024] [--events 4000] [--seed 1] [--search]
     (--smoke: up to 16 slots, 100 playthroughs)
"""
import argparse
import itertools
import random
from collections import Counter

from bench.harness import parse_args, print_header, write_results
from tests.support.brackets import BRACKETS_MANAGER, Playthroughs
from tournament_service.engine import double_elimination as de

BEFORE = {
    2: ("natural",), 4: ("natural", "reverse"), 8: ("natural", "reverse", "natural"),
    16: ("natural", "reverse_half_shift", "reverse", "natural"),
    32: ("natural", "pair_flip", "reverse_half_shift", "reverse", "natural"),
}


def before(size):
    rounds = size.bit_length() - 1
    return BEFORE.get(size) or ("natural", "reverse", "half_shift") + ("pair_flip",) * (rounds - 6) + (
        "reverse_half_shift", "natural", "natural")


def alternation(size):
    return tuple("reverse" if r % 2 == 0 else "natural" for r in range(1, size.bit_length()))


def measure(size, orders, events, seed, teams=None):
    """(mean rematches per event, Counter of losers' rounds) over `events` seeded playthroughs."""
    teams = teams or size
    runs = Playthroughs(de.build([f"t{n}" for n in range(1, teams + 1)], "none", orders=orders))
    rounds = Counter()
    for event in range(events):
        rounds.update(runs.rematches(random.Random(seed * 1_000_003 + event)))
    return sum(rounds.values()) / events, rounds


def search(size, events, seed, start):
    """The drop orders with the fewest rematches found (see the module docstring)."""
    rounds = size.bit_length() - 1

    events = max(200, events * 32 // size) if size > 32 else events

    def cost(orders):
        return measure(size, orders, events, seed)[0]

    names = tuple(de.ORDERINGS)
    if rounds <= 5:
        # Round 1's losers pair as they are; the last round's single loser has one order.
        candidates = (("natural",) + middle + ("natural",)
                      for middle in itertools.product(names, repeat=max(rounds - 2, 0)))
        return min(candidates, key=cost) if rounds > 1 else ("natural",)
    best = min(start, key=cost)
    best_cost = cost(best)
    improved = True
    while improved:
        improved = False
        for position in range(1, rounds - 1):
            for name in names:
                trial = best[:position] + (name,) + best[position + 1:]
                trial_cost = cost(trial)
                if trial_cost < best_cost - 1e-9:
                    best, best_cost, improved = trial, trial_cost, True
    return best


def show(rounds):
    return " ".join(f"L{r}:{n}" for r, n in sorted(rounds.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min-size", type=int, default=4)
    parser.add_argument("--max-size", type=int, default=1024)
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--search", action="store_true")
    parser.add_argument("--search-events", type=int, default=2000)
    parser.add_argument("--name", default="de_rematches", help="results file name")
    args = parse_args(parser, smoke={"max_size": 16, "events": 100, "search_events": 50,
                                     "name": "de_rematches_smoke"})
    info = print_header("double elimination: losers'-bracket rematches per event", vars(args))
    figures = []
    size = args.min_size
    while size <= args.max_size:
        events = max(200, args.events * 32 // size) if size > 32 else args.events
        strategies = [("alternation", alternation(size))]
        if size in BRACKETS_MANAGER:
            strategies.append(("brackets-manager", BRACKETS_MANAGER[size]))
        strategies += [("before", before(size)), ("ours", de.drop_orders(size))]
        if args.search:
            found = search(size, args.search_events, args.seed + 1, [orders for _, orders in strategies])
            strategies.append(("search", found))
        for teams in sorted({size, size * 3 // 4 + 1}, reverse=True):
            print(f"{size} slots, {teams} teams, {events} playthroughs:")
            for name, orders in strategies:
                mean, rounds = measure(size, orders, events, args.seed, teams)
                print(f"  {name:17} {mean:6.3f} per event ({show(rounds)})  {','.join(orders)}", flush=True)
                figures.append({"slots": size, "teams": teams, "playthroughs": events, "orders_of": name,
                                "orders": list(orders), "rematches_per_event": mean,
                                "rematches_by_losers_round": {f"L{r}": n for r, n in sorted(rounds.items())}})
        size *= 2
    write_results(args.name, {"machine": info, "parameters": vars(args), "figures": figures})


if __name__ == "__main__":
    main()
