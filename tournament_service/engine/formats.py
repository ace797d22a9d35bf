"""Each format behind one interface, so the tournament aggregate plays them all the same way.

A format is built from the tournament's options and works on a `Play`: the seeding fixed at the
start, the matches so far and the teams withdrawn (dropped or disqualified). Every method is pure: it returns
new or changed match dicts and never touches the ones it is given, so the aggregate can put the
changes in an event and fold them in later. Replaying a log never calls a format: the events carry
the matches.

- `start(seeding)`: the matches known at the start (a whole bracket, a whole round robin, or
  Swiss round 1).
- `record(play, match_id, winner, scores, **fields)` / `abandon(play, match_id, **fields)`: the
  changed matches when a match is won (winner None: a draw) or voided (a double forfeit).
- `next_matches(play)`: matches that become known once everything playable is decided (the next
  Swiss round, the playoff after the groups); [] when there are none.
- `blocking(play, match_id)`: the played matches that stop a completed result from being
  corrected; `correct(play, match_id, winner, scores)`: the changed matches when it is.
- `finished(play)` (asked once nothing is open: is the event over?), `champion(play)`,
  `standings(play)`, `bracket(play)`, `round_of(match)`,
  `allows_draw(match)`, `final_match_ids(play)` (the matches `final_best_of` applies to).
"""
from collections import Counter
from dataclasses import dataclass, field

from shared import formats as f
from tournament_service.engine import double_elimination as de
from tournament_service.engine import groups as gp
from tournament_service.engine import round_robin as rr
from tournament_service.engine import routing
from tournament_service.engine import single_elimination as se
from tournament_service.engine import swiss
from tournament_service.engine.matches import COMPLETED, DECIDED, DISPUTED, REPORTED, VOID


@dataclass
class Play:
    """What a format needs to know of a running tournament."""

    seeding: list  # team ids, best seed first
    matches: dict  # match id -> match, in the order they were made (a dict, or an Overlay of one)
    withdrawn: frozenset = field(default_factory=frozenset)


def _kept(match):
    """The lifecycle fields of a match that a corrected result keeps."""
    return {key: match[key] for key in ("reports", "forfeit") if key in match}


def _played(match):
    """Whether anything was played or decided on the pitch: a result, a report, a forfeit."""
    return match["status"] in (COMPLETED, REPORTED, DISPUTED) or bool(match.get("forfeit"))


class Elimination:
    """Single and double elimination over a routed bracket (see `routing`)."""

    def __init__(self, format_name, options):
        self.name = format_name
        self.options = options

    def _bracket(self, play):
        size = se.bracket_size(len(play.seeding))
        return {"format": self.name, "size": size, "rounds": size.bit_length() - 1,
                "team_ids": play.seeding, "grand_final": self.options.get("grand_final", "reset"),
                "withdrawn": play.withdrawn, "matches": play.matches}

    def start(self, seeding):
        if self.name == f.DOUBLE_ELIMINATION:
            built = de.build(seeding, self.options["grand_final"])
        else:
            built = se.build(seeding, self.options.get("third_place_match", False))
        return list(built["matches"].values())

    def record(self, play, match_id, winner, scores=None, **fields):
        if self.name == f.DOUBLE_ELIMINATION:
            return de.play_result(self._bracket(play), match_id, winner, scores, **fields)
        return routing.play_result(play.matches, match_id, winner, scores, withdrawn=play.withdrawn, **fields)

    def round_of(self, match):
        return match["round"]

    def allows_draw(self, match):
        return False  # someone must go on

    def blocking(self, play, match_id):
        return [ident for ident in routing.dependents(play.matches, match_id) if _played(play.matches[ident])]

    def correct(self, play, match_id, winner, scores=None):
        changes = routing.change_result(play.matches, match_id, winner, scores, play.withdrawn)
        if self.name == f.DOUBLE_ELIMINATION and match_id == "gf_1" and "gf_2" in play.matches \
                and winner == play.matches["gf_1"]["team1_id"]:
            # Now the unbeaten team won the first final: there is no reset to play.
            changes["gf_2"] = dict(play.matches["gf_2"], team1_id=None, team2_id=None, status=VOID)
        return changes

    def abandon(self, play, match_id, **fields):
        return routing.abandon_changes(play.matches, match_id, play.withdrawn, **fields)

    def next_matches(self, play):
        return []

    def finished(self, play):
        # Every match decided; the champion is None only if the final itself was abandoned.
        return all(m["status"] in DECIDED for m in play.matches.values())

    def champion(self, play):
        if self.name == f.DOUBLE_ELIMINATION:
            return de.champion(self._bracket(play))
        return se.champion(self._bracket(play))

    def final_match_ids(self, play):
        if self.name == f.DOUBLE_ELIMINATION:
            finals = [ident for ident in ("gf_1", "gf_2") if ident in play.matches]
            return finals or [de.wb_id(self._bracket(play)["rounds"], 1)]
        return [se.match_id(self._bracket(play)["rounds"], 1)]

    def standings(self, play):
        if self.name == f.SINGLE_ELIMINATION:
            return se.standings(self._bracket(play))
        return _double_elimination_standings(self._bracket(play))

    def bracket(self, play):
        return _sections(self.name, play.matches.values(), self._section_name(play),
                         grand_final=self.options.get("grand_final"),
                         third_place_match=self.options.get("third_place_match"))

    def _section_name(self, play):
        rounds = self._bracket(play)["rounds"]

        def name(bracket, round_no):
            if bracket == se.WINNERS and self.name == f.SINGLE_ELIMINATION:
                return se.round_name(round_no, rounds)
            if bracket == se.THIRD_PLACE:
                return "Third place"
            if bracket == de.GRAND_FINAL:
                return "Grand final" if round_no == 1 else "Grand final reset"
            side = "Winners" if bracket == de.WINNERS else "Losers"
            return f"{side} round {round_no}"
        return name


def _double_elimination_standings(bracket):
    """Finished: the final placements. Running: teams still in first, then by how far they got."""
    matches = bracket["matches"].values()
    teams = bracket["team_ids"]
    seed = {team_id: index for index, team_id in enumerate(teams, start=1)}
    wins, losses = dict.fromkeys(teams, 0), dict.fromkeys(teams, 0)
    out_in = {}  # team -> the losers' round it went out in
    for match in matches:
        if match["status"] == COMPLETED:
            wins[match["winner"]] += 1
            losses[match["loser"]] += 1
            if match["bracket"] == de.LOSERS:
                out_in[match["loser"]] = match["round"]
    if all(match["status"] in DECIDED for match in matches):
        placed = dict(de.placements(bracket))
        ordered = sorted(teams, key=lambda t: (placed[t], seed[t]))
        rank = placed.get
    else:
        stage = {t: out_in.get(t, 10_000 - losses[t]) for t in teams}
        ordered = sorted(teams, key=lambda t: (-stage[t], seed[t]))
        # A team's rank is 1 + the teams further on: counted once per stage, not once per team
        # (4,096 teams: 16 million comparisons, 0.6 s of a server that must answer meanwhile).
        first_at, above = {}, 0
        for value, count in sorted(Counter(stage.values()).items(), reverse=True):
            first_at[value], above = above + 1, above + count

        def rank(team_id):
            return first_at[stage[team_id]]
    champion = de.champion(bracket)
    return [{"rank": rank(t), "team_id": t, "seed": seed[t], "wins": wins[t], "losses": losses[t],
             "eliminated": t in out_in or (champion is not None and t != champion)} for t in ordered]


def _sections(format_name, matches, name, **extra):
    """The bracket for drawing: matches grouped by (bracket, round), each with where it leads."""
    sections = {}
    for match in matches:
        key = (match.get("bracket"), match.get("group"), match["round"])
        sections.setdefault(key, []).append(match)
    out = []
    for (bracket, group, round_no), members in sections.items():
        out.append({"bracket": bracket, "group": group, "round": round_no, "name": name(bracket, round_no),
                    "matches": [dict(m) for m in sorted(members, key=lambda m: m["position"])]})
    return dict({"format": format_name, "sections": out}, **{k: v for k, v in extra.items() if v is not None})


class RoundRobin:
    """Every team meets every other once (twice with `double_round_robin`)."""

    def __init__(self, format_name, options):
        self.name = format_name
        self.options = options

    def start(self, seeding):
        return self._scheduled(seeding, 1)

    def _scheduled(self, seeding, round_no):
        # One round at a time, made when it begins: the whole schedule of 1,024 teams (523,776
        # matches) would make the start event ~80 MB and notify a million matches at once.
        double = self.options.get("double_round_robin", False)
        return [dict(match, loser=None) for match in rr.schedule_round(seeding, round_no, double)]

    def rounds(self, play):
        return rr.round_count(len(play.seeding), self.options.get("double_round_robin", False))

    def _last_round(self, play):
        return max((match["round"] for match in play.matches.values()), default=0)

    def _more_rounds(self, play):
        return self._last_round(play) < self.rounds(play)

    def record(self, play, match_id, winner, scores=None, **fields):
        match = play.matches[match_id]
        loser = None if winner is None else (match["team2_id"] if winner == match["team1_id"] else match["team1_id"])
        return {match_id: dict(match, **fields, status=COMPLETED, winner=winner, loser=loser, scores=scores)}

    def abandon(self, play, match_id, **fields):
        return {match_id: dict(play.matches[match_id], **fields, status=VOID, winner=None, loser=None, scores=None)}

    def round_of(self, match):
        return match["round"]

    def allows_draw(self, match):
        return self.options.get("allow_draws", False)

    def blocking(self, play, match_id):
        return []  # no match depends on another: the schedule is fixed by the seeding

    def correct(self, play, match_id, winner, scores=None):
        match = play.matches[match_id]
        return self.record(play, match_id, winner, scores, **_kept(match))

    def next_matches(self, play):
        """The schedule's next round, once every match made so far is decided."""
        return self._scheduled(play.seeding, self._last_round(play) + 1) if self._more_rounds(play) else []

    def finished(self, play):
        return all(match["status"] in DECIDED for match in play.matches.values()) and not self._more_rounds(play)

    def champion(self, play):
        return self.standings(play)[0]["team_id"] if self.finished(play) else None

    def final_match_ids(self, play):
        return []

    @property
    def points(self):
        points = self.options["points"]
        return points["win"], points["draw"], points["loss"]

    def standings(self, play):
        return rr.standings(play.seeding, list(play.matches.values()), self.points, tuple(self.options["tiebreaks"]))

    def bracket(self, play):
        return _sections(self.name, play.matches.values(), lambda bracket, round_no: f"Round {round_no}")


class Swiss(RoundRobin):
    """Rounds paired one at a time on the scores so far, no rematches (see `swiss`)."""

    def rounds(self, play):
        return self.options.get("swiss_rounds") or swiss.default_rounds(len(play.seeding))

    def start(self, seeding):
        return [dict(match, loser=None) for match in swiss.pair_round(1, seeding, [], (), self.points)]

    def _more_rounds(self, play):
        active = [team for team in play.seeding if team not in play.withdrawn]
        return self._last_round(play) < self.rounds(play) and len(active) >= 2

    def next_matches(self, play):
        if not self._more_rounds(play):
            return []
        paired = swiss.pair_round(self._last_round(play) + 1, play.seeding, list(play.matches.values()),
                                  play.withdrawn, self.points)
        return [dict(match, loser=None) for match in paired]

    def finished(self, play):
        return super().finished(play) and not self._more_rounds(play)

    def blocking(self, play, match_id):
        # Later rounds were paired on this result: once one of their matches is played, the
        # pairing can't be redone.
        later = play.matches[match_id]["round"]
        return [ident for ident, match in play.matches.items() if match["round"] > later and _played(match)]

    def correct(self, play, match_id, winner, scores=None):
        """The corrected result, and the next round paired again on it if it was already paired
        (nothing in it is played: `blocking` says so)."""
        changes = super().correct(play, match_id, winner, scores)
        paired = self._last_round(play)
        if paired > play.matches[match_id]["round"]:
            before = {ident: m for ident, m in play.matches.items() if m["round"] < paired}
            before.update(changes)
            again = swiss.pair_round(paired, play.seeding, list(before.values()), play.withdrawn, self.points)
            stale = {ident for ident, m in play.matches.items() if m["round"] == paired}
            if {m["id"] for m in again} != stale:  # the same teams play, so the same boards exist
                raise ValueError("a re-paired round must keep its match ids")
            changes.update((m["id"], dict(m, loser=None)) for m in again)
        return changes

    def standings(self, play):
        return swiss.standings(play.seeding, list(play.matches.values()), self.points,
                               tuple(self.options["tiebreaks"]))


PLAYOFF = "playoff"


class GroupPlayoff(RoundRobin):
    """Round-robin groups filled by snake seeding, then a single-elimination playoff of the top
    `advance_per_group` of each (see `groups`). Group matches carry `group`; playoff matches carry
    `stage: "playoff"` and the single-elimination ids and routing."""

    def start(self, seeding):
        return self._group_round(seeding, 1)

    def _group_round(self, seeding, round_no):
        # Like a round robin's, each group round is made when it begins (see RoundRobin.start).
        grouped = gp.snake_groups(seeding, self.options["groups"])
        return [dict(match, loser=None)
                for match in gp.group_round(grouped, round_no, self.options["double_round_robin"])]

    def _more_group_rounds(self, play):
        grouped = gp.snake_groups(play.seeding, self.options["groups"])
        return self._group_rounds(play) < gp.group_rounds(grouped, self.options["double_round_robin"])

    @staticmethod
    def _in_playoff(match):
        return match.get("stage") == PLAYOFF

    def allows_draw(self, match):
        return not self._in_playoff(match) and super().allows_draw(match)

    def _playoff(self, play):
        """The playoff as a routed bracket, or None before it is drawn."""
        matches = {ident: m for ident, m in play.matches.items() if self._in_playoff(m)}
        if not matches:
            return None
        field = next(m for m in matches.values() if m.get("playoff_field"))["playoff_field"]
        size = se.bracket_size(len(field))
        return {"format": f.SINGLE_ELIMINATION, "size": size, "rounds": size.bit_length() - 1,
                "team_ids": field, "withdrawn": play.withdrawn, "matches": matches}

    def _group_rounds(self, play):
        return max((m["round"] for m in play.matches.values() if not self._in_playoff(m)), default=0)

    def round_of(self, match):
        # Playoff rounds come after the group rounds; the offset is kept on the match itself.
        return match["round"] + match.get("round_offset", 0)

    def groups(self, play):
        """{label: [team ids, best seed first]} as the group matches tell it."""
        seed = {team: index for index, team in enumerate(play.seeding)}
        members = {}
        for match in play.matches.values():
            if "group" in match:
                members.setdefault(match["group"], set()).update(
                    t for t in (match["team1_id"], match["team2_id"]) if t is not None)
        return {label: sorted(teams, key=seed.__getitem__) for label, teams in sorted(members.items())}

    def group_tables(self, play):
        """{label: standings rows of that group}."""
        tables = {}
        for label, teams in self.groups(play).items():
            matches = [m for m in play.matches.values() if m.get("group") == label]
            tables[label] = rr.standings(teams, matches, self.points, tuple(self.options["tiebreaks"]))
        return tables

    def record(self, play, match_id, winner, scores=None, **fields):
        if not self._in_playoff(play.matches[match_id]):
            return super().record(play, match_id, winner, scores, **fields)
        return routing.play_result(play.matches, match_id, winner, scores, withdrawn=play.withdrawn, **fields)

    def abandon(self, play, match_id, **fields):
        if not self._in_playoff(play.matches[match_id]):
            return super().abandon(play, match_id, **fields)
        return routing.abandon_changes(play.matches, match_id, play.withdrawn, **fields)

    def blocking(self, play, match_id):
        bracket = self._playoff(play)
        if not self._in_playoff(play.matches[match_id]):
            # The playoff was drawn from the group tables: once one of its matches is played,
            # they are final.
            return [ident for ident, m in bracket["matches"].items() if _played(m)] if bracket else []
        return [ident for ident in routing.dependents(play.matches, match_id) if _played(play.matches[ident])]

    def correct(self, play, match_id, winner, scores=None):
        if not self._in_playoff(play.matches[match_id]):
            changes = super().correct(play, match_id, winner, scores)
            drawn = self._playoff(play)
            if drawn is not None:
                # Nothing in it is played: draw the playoff again from the corrected tables.
                groups_only = {ident: m for ident, m in play.matches.items() if not self._in_playoff(m)}
                groups_only.update(changes)
                redrawn = self.next_matches(Play(play.seeding, groups_only, play.withdrawn))
                if {m["id"] for m in redrawn} != set(drawn["matches"]):
                    raise ValueError("a redrawn playoff must keep its match ids")
                changes.update((m["id"], m) for m in redrawn)
            return changes
        return routing.change_result(play.matches, match_id, winner, scores, play.withdrawn)

    def _field(self, play):
        """The playoff field: the top of each group, disqualified teams passed over."""
        rankings = [[row["team_id"] for row in rows if row["team_id"] not in play.withdrawn]
                    for rows in self.group_tables(play).values()]
        advance = min([self.options["advance_per_group"]] + [len(ranking) for ranking in rankings])
        if advance < 1 or advance * len(rankings) < 2:
            return []
        return gp.playoff_seeding(rankings, advance)

    def next_matches(self, play):
        if self._playoff(play) is not None:
            return []
        if self._more_group_rounds(play):
            return self._group_round(play.seeding, self._group_rounds(play) + 1)
        field = self._field(play)
        if not field:
            return []
        offset = self._group_rounds(play)
        built = se.build(field, self.options.get("third_place_match", False))["matches"]
        made = [dict(match, stage=PLAYOFF, round_offset=offset) for match in built.values()]
        made[0]["playoff_field"] = field  # the seeding, kept once for rebuilding the bracket view
        return made

    def finished(self, play):
        if not all(match["status"] in DECIDED for match in play.matches.values()) or self._more_group_rounds(play):
            return False
        return self._playoff(play) is not None or not self._field(play)

    def champion(self, play):
        bracket = self._playoff(play)
        if bracket is not None:
            return se.champion(bracket)
        rows = self.standings(play)
        return rows[0]["team_id"] if rows and self.finished(play) else None

    def final_match_ids(self, play):
        bracket = self._playoff(play)
        return [se.match_id(bracket["rounds"], 1)] if bracket else []

    def standings(self, play):
        """Playoff teams first by how far they went, then the rest by their place in their
        group (then points, seed); every row says its group and place in it."""
        tables = self.group_tables(play)
        place = {row["team_id"]: (label, row) for label, rows in tables.items() for row in rows}
        seed = {team: index for index, team in enumerate(play.seeding, start=1)}
        bracket = self._playoff(play)
        rows = []
        if bracket is not None:
            for row in se.standings(bracket):
                label, group_row = place[row["team_id"]]
                rows.append(dict(row, seed=seed[row["team_id"]], group=label, group_rank=group_row["rank"],
                                 points=group_row["points"]))
        top = {row["team_id"] for row in rows}
        rest = sorted((team for team in play.seeding if team not in top),
                      key=lambda t: (place[t][1]["rank"], -place[t][1]["points"], seed[t]))
        rank = len(rows)
        for index, team in enumerate(rest):
            label, group_row = place[team]
            previous = rest[index - 1] if index else None
            tied = previous is not None and (place[previous][1]["rank"], place[previous][1]["points"]) == (
                group_row["rank"], group_row["points"])
            rank = rank if tied else len(rows) + 1
            rows.append({"rank": rank, "team_id": team, "seed": seed[team], "wins": group_row["wins"],
                         "losses": group_row["losses"], "draws": group_row["draws"], "points": group_row["points"],
                         "group": label, "group_rank": group_row["rank"],
                         "eliminated": bracket is not None, "tiebreaks": group_row["tiebreaks"]})
        return rows

    def bracket(self, play):
        def name(bracket, round_no):
            if bracket == se.THIRD_PLACE:
                return "Third place"
            if bracket == se.WINNERS:
                return se.round_name(round_no, self._playoff(play)["rounds"])
            return f"Round {round_no}"
        picture = _sections(self.name, play.matches.values(), name)
        picture["groups"] = self.groups(play)
        return picture


def for_tournament(format_name, options):
    """The format object that plays `format_name` with the tournament's `options`."""
    if format_name in f.ELIMINATION:
        return Elimination(format_name, options)
    if format_name == f.ROUND_ROBIN:
        return RoundRobin(format_name, options)
    if format_name == f.SWISS:
        return Swiss(format_name, options)
    if format_name == f.GROUP_PLAYOFF:
        return GroupPlayoff(format_name, options)
    raise ValueError(f"unknown format {format_name!r}")
