"""The tournament page's cost: building the picture (`bracket_view.picture`) and rendering the
Jinja templates, for big brackets of each format, halfway played, in this process (no HTTP, no
database: the aggregate is driven purely, as bench.engine does).

Run: .venv/bin/python -m bench.tournament_page [--teams 256] [--repeat 5] [--seed 1]
"""
import argparse
import random
import time

from flask import Flask

from bench.harness import parse_args, print_header, write_results
from tests.support.aggregate import Driver
from tournament_service import bracket_view, pages
from tournament_service.permissions import ANONYMOUS

FORMATS = {"single_elimination": {}, "double_elimination": {}, "round_robin": {},
           "swiss": {}, "group_playoff": {"groups": 8}}


def half_played(format_name, teams, options, rnd):
    """A started aggregate with about half its matches decided, random winners."""
    d = Driver()
    d.publish(max_teams=teams, min_teams=2, format=format_name, options=options)
    for number in range(teams):
        d.register(f"Team {number + 1}")
    d.start()
    decided = 0
    while d.t.state == "ACTIVE" and decided < len(d.t.matches) // 2:
        for match in d.t.match_list():
            d.result(match["id"], rnd.choice((match["team1_id"], match["team2_id"])))
            decided += 1
    return d.t


def render(app, tournament):
    """(HTML bytes, picture s, page s): the bracket picture alone, then the whole page as the
    server renders it for an anonymous viewer (`pages.page_html`, the picture included)."""
    start = time.perf_counter()
    standings = {"items": tournament.standings(), **tournament.standings_rules()}
    bracket_view.picture(tournament.summary(), tournament.team_list(), tournament.bracket(), standings,
                         tournament.group_standings())
    built = time.perf_counter()
    with app.test_request_context("/"):
        html = pages.page_html(tournament, ANONYMOUS, None)
    return len(html.encode()), built - start, time.perf_counter() - built


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--name", default="tournament_page")
    args = parse_args(parser, smoke={"teams": 16, "repeat": 1, "name": "tournament_page_smoke"})
    print_header("tournament page", vars(args))
    app = Flask("tournament_service")  # the package's templates, as the server finds them
    rnd = random.Random(args.seed)
    figures = {}
    for format_name, options in FORMATS.items():
        teams = min(args.teams, 64) if format_name == "round_robin" else args.teams
        tournament = half_played(format_name, teams, options, rnd)
        runs = [render(app, tournament) for _ in range(args.repeat)]
        size = runs[0][0]
        picture_ms = min(r[1] for r in runs) * 1000  # the reads (standings, bracket) and the picture
        page_ms = min(r[2] for r in runs) * 1000
        figures[format_name] = {"teams": teams, "matches": len(tournament.matches), "html_kib": size / 1024,
                                "picture_ms": picture_ms, "page_ms": page_ms}
        print(f"{format_name}, {teams} teams, {len(tournament.matches)} matches: picture {picture_ms:.1f} ms, "
              f"whole page {page_ms:.1f} ms, {size / 1024:.0f} KiB of HTML (best of {args.repeat})")
    write_results(args.name, figures)


if __name__ == "__main__":
    main()
