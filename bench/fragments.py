"""The tournament page's live fragments under a herd: after one event every viewer refetches the
bracket, standings and head (one request, as the page asks); the first request renders them (`pages.page_context` + the partial), the others are served
from `pages.FragmentCache`. Measured in this process through Flask's test client (no gateway, no
database: the aggregate is driven purely, as bench.tournament_page does).

Run: .venv/bin/python -m bench.fragments [--teams 256] [--viewers 1000]
"""
import argparse
import random
import time
from types import SimpleNamespace

from flask import Flask

from bench.harness import parse_args, percentiles, print_header, write_results
from bench.tournament_page import FORMATS, half_played
from tournament_service import pages


def app_for(tournament):
    """A Flask app serving the page blueprint for `tournament` (as the server's, minus the rest)."""
    app = Flask("tournament_service")
    app.register_blueprint(pages.bp)
    app.extensions["tournament_server"] = SimpleNamespace(tournament=tournament)
    return app


def herd(app, viewers):
    """(first request s, [later requests s], bytes): `viewers` GETs of the page's parts after a change."""
    client = app.test_client()
    app.extensions.pop("fragment_cache", None)  # as after an event: nothing rendered for this seq
    times = []
    for _ in range(viewers):
        start = time.perf_counter()
        response = client.get("/fragments/bracket?also=standings,head")
        times.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise SystemExit(f"fragment answered {response.status_code}")
    return times[0], times[1:], len(response.data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=256)
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--name", default="fragments")
    args = parse_args(parser, smoke={"teams": 16, "viewers": 20, "name": "fragments_smoke"})
    print_header("live fragments", vars(args))
    rnd = random.Random(args.seed)
    figures = {}
    for format_name, options in FORMATS.items():
        teams = min(args.teams, 64) if format_name == "round_robin" else args.teams
        first, later, size = herd(app_for(half_played(format_name, teams, options, rnd)), args.viewers)
        p = percentiles(later)
        figures[format_name] = {"teams": teams, "first_ms": first * 1000, "cached_p50_ms": p["p50"] * 1000,
                                "cached_p99_ms": p["p99"] * 1000, "all_viewers_s": first + sum(later),
                                "fragment_kib": size / 1024}
        print(f"{format_name}, {teams} teams: first {first * 1000:.1f} ms, then p50 {p['p50'] * 1000:.2f} ms "
              f"p99 {p['p99'] * 1000:.2f} ms; {args.viewers} viewers {first + sum(later):.2f} s; "
              f"{size / 1024:.0f} KiB")
    write_results(args.name, figures)


if __name__ == "__main__":
    main()
