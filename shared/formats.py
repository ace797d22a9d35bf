"""The formats a tournament can be played in, and the options each one takes.

One table serves both apps: the orchestrator validates a tournament's options against it, and the
tournament server fills in the defaults when the tournament is published. An option given for a
format it does not apply to is refused, not silently ignored.
"""
from shared import validation as v

SINGLE_ELIMINATION = "single_elimination"
DOUBLE_ELIMINATION = "double_elimination"
ROUND_ROBIN = "round_robin"
SWISS = "swiss"
GROUP_PLAYOFF = "group_playoff"
FORMATS = (SINGLE_ELIMINATION, DOUBLE_ELIMINATION, ROUND_ROBIN, SWISS, GROUP_PLAYOFF)
ELIMINATION = (SINGLE_ELIMINATION, DOUBLE_ELIMINATION)
# Formats whose standings count points, where a draw can make sense.
POINTS_FORMATS = (ROUND_ROBIN, SWISS, GROUP_PLAYOFF)

TIEBREAKS = (
    "head_to_head", "buchholz", "median_buchholz", "sonneborn_berger",
    "opponents_match_win_pct", "game_win_pct", "opponents_game_win_pct", "seed",
)
# What a person reads for each tiebreak, on both apps' pages.
TIEBREAK_NAMES = {
    "head_to_head": "head-to-head", "buchholz": "Buchholz", "median_buchholz": "median Buchholz",
    "sonneborn_berger": "Sonneborn-Berger", "opponents_match_win_pct": "opponents' match win %",
    "game_win_pct": "game win %", "opponents_game_win_pct": "opponents' game win %", "seed": "seed",
}
_TIEBREAK_BY_NAME = {**{name.lower(): tiebreak for tiebreak, name in TIEBREAK_NAMES.items()},
                     **{tiebreak: tiebreak for tiebreak in TIEBREAKS}}


def tiebreak_typed(typed):
    """The tiebreak a person typed, by its id or by its name in any case ("Median Buchholz");
    what was typed when it is neither (the option's check then names it)."""
    return _TIEBREAK_BY_NAME.get(" ".join(typed.lower().split()), typed)


DEFAULT_TIEBREAKS = {
    ROUND_ROBIN: ("head_to_head", "buchholz", "sonneborn_berger", "seed"),
    GROUP_PLAYOFF: ("head_to_head", "buchholz", "sonneborn_berger", "seed"),
    SWISS: ("buchholz", "median_buchholz", "sonneborn_berger", "seed"),
}
BEST_OF = (1, 3, 5, 7)


def _boolean(value):
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _points(value):
    """{"win", "draw", "loss"} match points, each 0..100, a win worth the most."""
    if not isinstance(value, dict) or set(value) != {"win", "draw", "loss"}:
        raise ValueError('must be {"win": n, "draw": n, "loss": n}')
    for key in ("win", "draw", "loss"):
        v.integer(0, 100)(value[key])
    if not value["win"] > value["draw"] >= value["loss"]:
        raise ValueError("must give a win more than a draw, and a draw at least a loss")
    return dict(value)


def _tiebreaks(value):
    if not isinstance(value, list) or not 1 <= len(value) <= len(TIEBREAKS):
        raise ValueError("must be a list of tiebreaks from: " + ", ".join(TIEBREAKS))
    unknown = [name for name in value if not isinstance(name, str) or name not in TIEBREAKS]
    if unknown:
        raise ValueError("unknown tiebreaks; choose from: " + ", ".join(TIEBREAKS))
    if len(set(value)) != len(value):
        raise ValueError("must not name a tiebreak twice")
    return list(value)


class Option:
    """One format option: how it is checked, its default, and the formats it applies to.

    null is accepted for every option and means "the default" (in a PATCH: back to the default).
    """

    def __init__(self, check, default, formats):
        self.field = v.Field(check, nullable=True)
        self.default = default
        self.formats = formats


# Options every format takes.
ALL = FORMATS
OPTIONS = {
    "confirm_results": Option(_boolean, True, ALL),
    "check_in": Option(_boolean, False, ALL),
    "final_best_of": Option(v.one_of(*BEST_OF), None, (SINGLE_ELIMINATION, DOUBLE_ELIMINATION, GROUP_PLAYOFF)),
    "third_place_match": Option(_boolean, False, (SINGLE_ELIMINATION, GROUP_PLAYOFF)),
    "grand_final": Option(v.one_of("reset", "single", "none"), "reset", (DOUBLE_ELIMINATION,)),
    "double_round_robin": Option(_boolean, False, (ROUND_ROBIN, GROUP_PLAYOFF)),
    "allow_draws": Option(_boolean, False, POINTS_FORMATS),
    "swiss_rounds": Option(v.integer(1, 20), None, (SWISS,)),
    "groups": Option(v.integer(1, 64), 2, (GROUP_PLAYOFF,)),
    "advance_per_group": Option(v.integer(1, 16), 2, (GROUP_PLAYOFF,)),
    "points": Option(_points, {"win": 3, "draw": 1, "loss": 0}, POINTS_FORMATS),
    "tiebreaks": Option(_tiebreaks, None, POINTS_FORMATS),
}
OPTION_FIELDS = {name: option.field for name, option in OPTIONS.items()}


def misplaced_options(format_name, options):
    """{option: error} for every option given that `format_name` doesn't take."""
    return {name: f"applies only to {', '.join(OPTIONS[name].formats)}"
            for name in options if format_name not in OPTIONS[name].formats}


def group_problems(format_name, team_bounds, options):
    """{field: error} for a group stage that can't work with these bounds (min_teams, max_teams)."""
    if format_name != GROUP_PLAYOFF:
        return {}
    min_teams, _max_teams = team_bounds
    groups = options.get("groups", OPTIONS["groups"].default)
    advance = options.get("advance_per_group", OPTIONS["advance_per_group"].default)
    problems = {}
    if min_teams < 2 * groups:
        # Only the root cause: any advance_per_group problem would follow from it.
        return {"min_teams": f"must be at least {2 * groups}: each of the {groups} groups needs 2 teams"}
    if groups * advance < 2:
        problems["advance_per_group"] = "must send at least two teams to the playoff in all"
    elif advance > min_teams // groups:
        problems["advance_per_group"] = (f"must be at most {min_teams // groups}: the smallest group "
                                         f"(min_teams / groups) has that many teams")
    return problems


def with_defaults(format_name, options):
    """Every option `format_name` takes, given ones first, defaults for the rest."""
    merged = {name: option.default for name, option in OPTIONS.items() if format_name in option.formats}
    merged.update((name, value) for name, value in (options or {}).items() if name in merged)
    if format_name in POINTS_FORMATS and not merged.get("tiebreaks"):
        merged["tiebreaks"] = list(DEFAULT_TIEBREAKS[format_name])
    return merged
