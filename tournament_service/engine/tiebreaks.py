"""What the published rulebooks say a tiebreak counts, for `round_robin.standings`.

Swiss rounds a team did not play, FIDE Handbook C.07, Tie-Break Regulations (2023, Article 16
"Unplayed Rounds Management"; the same in the 2024 text):

- 16.2: an unplayed round is a pairing-allocated bye (16.2.1), a forfeit win (16.2.2), a forfeit
  loss (16.2.4), or a round the participant was absent from (16.2.3 when a played round follows,
  16.2.5 when none does, e.g. every round after a withdrawal). Here: a bye, a match won or lost
  by forfeit (a withdrawn team's), a void match (both sides forfeited), a round a withdrawn team
  was not paired in.
- 16.3: in the tiebreaks of its opponents, a participant's score counts its unplayed rounds of
  16.2.1-16.2.4 at the points awarded and those of 16.2.5 as draws (its "adjusted score").
- 16.4: in the participant's own Buchholz and Sonneborn-Berger, each unplayed round is a game
  against a dummy opponent that finished with the participant's own score (in Sonneborn-Berger
  weighted by the result of that round: a bye or forfeit win in full, a loss nothing).
- 16.5: a cut removes a voluntary unplayed round (a forfeit loss, an absence) first.
The 2026 revision also caps the dummy's score (at a draw a round for byes, at the scheduled
opponent's adjusted score for forfeits); that revision is not applied here.

Percentages, Magic Tournament Rules, Appendix C: a match-win or game-win percentage below 0.33
counts as 0.33 (not 1/3: a team at exactly a third would tie a winless one); a bye is a match won
2-0 in games; opponents' percentages ignore the rounds of a bye.
"""
from fractions import Fraction

PCT_FLOOR = Fraction(33, 100)
BYE_GAMES = (2, 0)
WIN, DRAW, LOSS = "win", "draw", "loss"
# Sonneborn-Berger weights, the chess convention: a win counts the opponent's score in full, a
# draw half of it, a loss nothing, whatever the configured match points are.
SB_WEIGHT = {WIN: Fraction(1), DRAW: Fraction(1, 2), LOSS: Fraction(0)}
# How a team's round went, for Article 16: a game, or one of the unplayed kinds.
PLAYED, PAIRING_BYE, FORFEIT_WIN, FORFEIT_LOSS, ABSENT = "played", "bye", "forfeit_win", "forfeit_loss", "absent"
VOLUNTARY = frozenset({FORFEIT_LOSS, ABSENT})  # 16.5's voluntary unplayed rounds


def floored(value):
    """A match-win or game-win percentage as MTR counts it."""
    return max(value, PCT_FLOOR)


def swiss_rounds(seed, matches):
    """{team: {round: (kind, opponent or None, outcome)}} for every decided round of each team.

    A team with an open match in a round has no entry for it (the round is not over for it); a
    team without any match in a round that exists was absent from it.
    """
    rounds = {team: {} for team in seed}
    open_rounds = {team: set() for team in seed}
    every_round = set()
    for match in matches:
        round_no, team1, team2 = match["round"], match["team1_id"], match["team2_id"]
        every_round.add(round_no)
        status, winner = match["status"], match.get("winner")
        if status == "bye":
            rounds[team1][round_no] = (PAIRING_BYE, None, WIN)
        elif status == "void":
            for team, other in ((team1, team2), (team2, team1)):
                if team is not None:
                    rounds[team][round_no] = (FORFEIT_LOSS, other, LOSS)
        elif status == "completed":
            for team, other in ((team1, team2), (team2, team1)):
                outcome = DRAW if winner is None else WIN if winner == team else LOSS
                kind = PLAYED if not match.get("forfeit") else FORFEIT_WIN if outcome == WIN else FORFEIT_LOSS
                rounds[team][round_no] = (kind, other, outcome)
        else:
            open_rounds[team1].add(round_no)
            if team2 is not None:
                open_rounds[team2].add(round_no)
    for team in seed:
        for round_no in every_round - rounds[team].keys() - open_rounds[team]:
            rounds[team][round_no] = (ABSENT, None, LOSS)
    return rounds


def trailing_absences(team_rounds):
    """Rounds of 16.2.5: absences after which the team played (or was awarded) nothing more."""
    count = 0
    for round_no in sorted(team_rounds, reverse=True):
        kind = team_rounds[round_no][0]
        if kind == ABSENT:
            count += 1
        elif kind not in VOLUNTARY:
            break
    return count


def swiss_terms(rounds, score, draw_points):
    """{team: [(opponent's score, Sonneborn-Berger weight, voluntary)]}, one term per decided round.

    A played game counts the opponent's adjusted score (16.3); an unplayed round the dummy's,
    which is the team's own score (16.4).
    """
    adjusted = {team: score[team] + draw_points * trailing_absences(rounds[team]) for team in rounds}
    terms = {}
    for team, team_rounds in rounds.items():
        terms[team] = [
            (adjusted[other] if kind == PLAYED else score[team], SB_WEIGHT[outcome], kind in VOLUNTARY)
            for kind, other, outcome in (team_rounds[r] for r in sorted(team_rounds))]
    return terms


def median_buchholz(terms):
    """Buchholz without one highest and one lowest term, the lowest a voluntary one if any (16.5);
    0 with two terms or fewer."""
    if len(terms) <= 2:
        return Fraction(0)
    voluntary = [value for value, _, is_voluntary in terms if is_voluntary]
    values = sorted(value for value, _, _ in terms)
    values.remove(min(voluntary) if voluntary else values[0])
    return sum(values[:-1], Fraction(0))
