"""The tournament page's picture of the bracket, built from what `GET /api/bracket`,
`/api/standings` and `/api/teams` answer: plain values in, plain values out, so the templates only
lay them out (and the same data the API serves is what the page draws).
"""
from shared import formats as f

BRACKET_ORDER = {"winners": 0, None: 0, "losers": 1, "third_place": 2, "grand_final": 3}
BRACKET_TITLES = {"winners": "Winners' bracket", "losers": "Losers' bracket", "grand_final": "Grand final",
                  "third_place": "Third place"}
KEY_PREFIX = {"winners": "w", "losers": "l", "grand_final": "gf", "third_place": "tp", None: "r"}


PHONE_TABLE_TEAMS = 6  # the most a round robin's cross-table holds across a 360 px phone


def team_names(teams):
    """team id -> name, for every registered team."""
    return {team["id"]: team["name"] for team in teams}


def match_labels(sections):
    """match id -> a readable name ("Winners round 1, match 2"), for "Winner of ..." slots."""
    return {match["id"]: f"{section['name']}, match {match['position']}"
            for section in sections for match in section["matches"]}


def reset_shown(match):
    """The grand final reset is drawn only once it is played or about to be (the losers'
    bracket side won the first final): before that it is a note, after a winners' win it is void."""
    return match["status"] != "void" and (match["team1_id"] is not None or match["status"] == "completed")


def section_key(section):
    """A short name for a column of the picture, used by the round tabs (`?round=w2`)."""
    prefix = KEY_PREFIX.get(section.get("bracket"), "r")
    return f"{prefix}{section['round']}"


def columns(sections):
    """The elimination tree as brackets, each a list of round columns in drawing order."""
    brackets = {}
    for section in sections:
        if section.get("bracket") == "grand_final" and section["round"] == 2:
            if not all(reset_shown(m) for m in section["matches"]):
                continue
        brackets.setdefault(section.get("bracket"), []).append(dict(section, key=section_key(section)))
    ordered = sorted(brackets.items(), key=lambda item: BRACKET_ORDER.get(item[0], 9))
    out = []
    for name, rounds in ordered:
        rounds = sorted(rounds, key=lambda s: s["round"])
        sizes = [len(s["matches"]) for s in rounds]
        # Connector lines only where each round halves the one before (not a losers' bracket's
        # alternate rounds, where dropped-down teams join and the count stays).
        tree = len(rounds) > 1 and all(a == 2 * b for a, b in zip(sizes, sizes[1:]))
        out.append({"bracket": name, "title": BRACKET_TITLES.get(name, "Bracket"), "rounds": rounds, "tree": tree})
    return out


def playable(match):
    return match["status"] in ("pending", "reported", "disputed") and bool(match["team1_id"] and match["team2_id"])


def live_sections(sections):
    """The sections with a match to play now (both teams known), for the venue screen."""
    return [dict(s, title=_section_title(s)) for s in sections if any(playable(m) for m in s["matches"])]


def _section_title(section):
    if section.get("group") is not None:
        return f"Group {section['group']}, {section['name'].lower()}"
    return section["name"]


def current_key(sections):
    """The column holding the first match still to be played (the last column once all are decided)."""
    for section in sorted(sections, key=lambda s: (s["round"], BRACKET_ORDER.get(s.get("bracket"), 9))):
        if any(playable(m) for m in section["matches"]):
            return section_key(section)
    return section_key(sections[-1]) if sections else None


def cross_table(team_ids, matches):
    """Rows of cells for a round robin: cell [i][j] is every match of team i against team j, from
    team i's side ({"outcome": "W"/"L"/"D"/None, "scores": (own, other) or None, "status"})."""
    met = {}
    for match in matches:
        a, b = match["team1_id"], match["team2_id"]
        if a is None or b is None:
            continue
        for own, other, flip in ((a, b, False), (b, a, True)):
            met.setdefault((own, other), []).append(_from_side(match, own, flip))
    return [{"team_id": own, "cells": [None if own == other else met.get((own, other), [])
                                        for other in team_ids]} for own in team_ids]


def _from_side(match, team_id, flip):
    scores = match.get("scores")
    if scores is not None and flip:
        scores = [scores[1], scores[0]]
    outcome = None
    if match["status"] == "completed":
        outcome = "D" if match["winner"] is None else ("W" if match["winner"] == team_id else "L")
    elif match["status"] == "void":
        outcome = "–"
    return {"outcome": outcome, "scores": scores, "status": match["status"], "id": match["id"]}


def groups(bracket, group_standings):
    """group_playoff: each group's teams (in their group order), cross-table and own standings."""
    out = []
    for label, team_ids in (bracket.get("groups") or {}).items():
        matches = [m for s in bracket["sections"] if s.get("group") == label for m in s["matches"]]
        out.append({"label": label, "team_ids": team_ids, "table": cross_table(team_ids, matches),
                    "standings": group_standings.get(label, [])})
    return out


def ranking_rule(rules, fmt=None):
    """What the standings rank by, in words, from `/api/standings`' `ranked_by`, points, tiebreaks."""
    if fmt == f.GROUP_PLAYOFF:
        return ("Playoff teams first, by the round reached; then the others by their place in their "
                "group, then points.")
    if rules.get("ranked_by") != "points":
        return "Ranked by the round reached; tied teams share a rank."
    points = rules["points"]
    tiebreaks = ", ".join(f.TIEBREAK_NAMES.get(name, name) for name in rules.get("tiebreaks", []))
    return (f"Ranked by points (win {points['win']}, draw {points['draw']}, loss {points['loss']})"
            + (f", then {tiebreaks}." if tiebreaks else "."))


def picture(summary, teams, bracket, standings, group_standings=None):
    """Everything the bracket partials draw for this tournament's format; `group_standings` is
    group_playoff's {label: rows} (`Tournament.group_standings`)."""
    sections = bracket["sections"]
    fmt = bracket.get("format") or summary.get("format")
    view = {"format": fmt, "names": team_names(teams), "labels": match_labels(sections),
            "sections": sections, "current": current_key(sections), "rule": ranking_rule(standings, fmt),
            "group_rule": ranking_rule(standings),
            "points": standings.get("ranked_by") == "points"}
    if fmt in f.ELIMINATION:
        view["brackets"] = columns(sections)
        if fmt == f.SINGLE_ELIMINATION and view["brackets"]:  # one bracket, maybe with a third-place match
            view["brackets"][0]["title"] = "Main bracket"
        final = next((m for s in sections if s.get("bracket") == "grand_final" and s["round"] == 1
                      for m in s["matches"]), None)
        view["reset_possible"] = (bracket.get("grand_final") == "reset" and final is not None
                                  and final["status"] not in ("completed", "void"))
    elif fmt == f.ROUND_ROBIN:
        seeded = [row["team_id"] for row in sorted(standings["items"], key=lambda r: r["seed"])]
        view["table"] = cross_table(seeded, [m for s in sections for m in s["matches"]])
        view["team_ids"] = seeded
        view["rounds"] = [dict(s, key=section_key(s)) for s in sections]
        # Past this many teams the table scrolls sideways on a 360 px phone: there the rounds show
        # one at a time, by tab, instead.
        view["round_tabs"] = len(seeded) > PHONE_TABLE_TEAMS
    elif fmt == f.SWISS:
        view["rounds"] = [dict(s, key=section_key(s)) for s in sections]
        view["round_tabs"] = True
    elif fmt == f.GROUP_PLAYOFF:
        view["groups"] = groups(bracket, group_standings or {})
        playoff = [s for s in sections if s.get("group") is None]
        view["brackets"] = columns(playoff)
        view["current"] = current_key(playoff) if playoff else None
    return view
