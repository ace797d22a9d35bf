"""Double elimination: where a drop-down can meet a team it may already have played.

For each bracket size, per drop-down round of the losers' bracket, the number of its matches whose
two sides can come from one winners'-bracket subtree (a possible rematch in the drop-down's first
losers' match). Three ways of ordering the drop-downs are compared, the first two as baselines:

- alternation: natural, reverse, natural, ... (what this engine did before);
- brackets-manager.js's defaults (sizes 4 to 128 only);
- ours: `double_elimination.drop_orders`.

This is only where a rematch *can* happen; the orders are chosen on how many happen over whole
random playthroughs (bench/de_rematches.py), where "possible" rematches that are unlikely matter
little.

Run: .venv/bin/python -m bench.drop_orders [--max-size 1024]
"""
import argparse

from bench.harness import parse_args, print_header, write_results
from tests.support.brackets import BRACKETS_MANAGER, possible_rematches
from tournament_service.engine import double_elimination as de

def alternation(size):
    return tuple("reverse" if r % 2 == 0 else "natural" for r in range(1, size.bit_length()))


def measured(size, orders):
    """possible_rematches of a bracket built with `orders` in place of the engine's own."""
    own = de.drop_orders
    de.drop_orders = lambda _size: orders
    try:
        return possible_rematches(de.build([f"team_{n}" for n in range(1, size + 1)]))
    finally:
        de.drop_orders = own


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-size", type=int, default=1024)
    parser.add_argument("--name", default="drop_orders", help="results file name")
    args = parse_args(parser, smoke={"max_size": 32, "name": "drop_orders_smoke"})
    info = print_header("double elimination drop-down orders", vars(args))
    figures, size = {}, 8
    while size <= args.max_size:
        rows = [("alternation", measured(size, alternation(size)))]
        if size in BRACKETS_MANAGER:
            rows.append(("brackets-manager", measured(size, BRACKETS_MANAGER[size])))
        rows.append(("ours", measured(size, de.drop_orders(size))))
        print(f"{size} slots, possible rematches per drop-down round (total):")
        for name, counts in rows:
            print(f"  {name:17} {counts} ({sum(counts)})")
        figures[size] = dict(rows)
        size *= 2
    write_results(args.name, {"machine": info, "parameters": vars(args), "possible_rematches": figures})


if __name__ == "__main__":
    main()
