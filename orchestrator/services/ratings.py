"""Team ratings from match history: openskill's Weng-Lin Plackett-Luce model, folded over the
results of ended tournaments in the order they were played.

Pure: tournament logs (lists of event dicts) in, ratings out; nothing here reads the database, so
a recompute is a function of the logs alone and a corrected result corrects every rating after it.

- A team is its name, case-insensitive and with runs of whitespace as one space: "Red  Fox" in one
  tournament and "red fox" in another are the same team (`team_key`).
- A match counts with its final result: a `result_corrected` replaces the result of its
  `match_result`, and the match keeps its place in the order (when it was first decided).
- A draw (`winner` null) is a tie. Byes make no `match_result` and never rate. A forfeit (a
  disqualified or dropped team's open match, `forfeit` set) and an abandoned match (a double
  forfeit, `match_abandoned`) were never played: they don't rate and don't count as matches.
"""
from dataclasses import dataclass, field, replace

from openskill.models import PlackettLuce

from shared import events

MODEL = PlackettLuce()
_RESULT_TYPES = (events.TEAM_REGISTERED, events.MATCH_RESULT, events.RESULT_CORRECTED)


def team_key(name):
    """The identity of a team across tournaments: its name case-folded, whitespace collapsed."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class PlayedMatch:
    """One rated match: `winner` is 1 or 2 (team1's or team2's side), None for a draw."""

    tournament_id: str
    tournament_name: str
    match_id: str
    team1: str
    team2: str
    winner: int | None
    played_at: str


def played_matches(tournament_id, tournament_name, log):
    """The matches of one tournament's log (event dicts in seq order) that rate, in the order
    they were first decided, each with its final (corrected) result."""
    names, decided = {}, {}
    for event in log:
        kind = event["type"]
        if kind == events.TEAM_REGISTERED:
            names[event["team"]["id"]] = event["team"]["name"]
        elif kind == events.MATCH_RESULT and not event.get("forfeit"):
            decided[event["match_id"]] = event
        elif kind == events.RESULT_CORRECTED and event["match_id"] in decided:
            # The correction's winner, at the place and time of the original result.
            decided[event["match_id"]] = dict(decided[event["match_id"]], winner=event["winner"])
    played = []
    for match_id, result in decided.items():
        team1, team2 = result["team1_id"], result["team2_id"]
        if team1 not in names or team2 not in names:
            continue
        winner = None if result["winner"] is None else (1 if result["winner"] == team1 else 2)
        played.append(PlayedMatch(tournament_id, tournament_name, match_id, names[team1], names[team2],
                                  winner, result["timestamp"]))
    return played


@dataclass
class TeamRating:
    """A team's rating after the matches folded so far, and its record."""

    team: str  # the name as last written
    mu: float = MODEL.mu
    sigma: float = MODEL.sigma
    wins: int = 0
    losses: int = 0
    draws: int = 0
    last_played: str | None = None
    history: list = field(default_factory=list)

    @property
    def ordinal(self):
        """The conservative estimate mu - 3 sigma (openskill's `ordinal`)."""
        return self.mu - 3 * self.sigma

    @property
    def matches(self):
        return self.wins + self.losses + self.draws


def rate(matches, board=None):
    """{team key: TeamRating} after folding `matches` (PlayedMatch, in the order played) into
    `board` (changed in place), or into an empty board."""
    board = {} if board is None else board
    for match in matches:
        one = board.setdefault(team_key(match.team1), TeamRating(match.team1))
        two = board.setdefault(team_key(match.team2), TeamRating(match.team2))
        if one is two:
            continue  # one team under two spellings in one match can't happen; never rate a team against itself
        ranks = [0, 0] if match.winner is None else ([0, 1] if match.winner == 1 else [1, 0])
        [[new_one], [new_two]] = MODEL.rate([[MODEL.rating(one.mu, one.sigma)], [MODEL.rating(two.mu, two.sigma)]],
                                            ranks=ranks)
        for team, name, new, opponent, outcome in ((one, match.team1, new_one, match.team2, ranks[0] - ranks[1]),
                                                   (two, match.team2, new_two, match.team1, ranks[1] - ranks[0])):
            team.team, team.mu, team.sigma, team.last_played = name, new.mu, new.sigma, match.played_at
            result = "draw" if outcome == 0 else ("win" if outcome < 0 else "loss")
            setattr(team, _TALLY[result], getattr(team, _TALLY[result]) + 1)
            team.history.append({"tournament_id": match.tournament_id, "tournament_name": match.tournament_name,
                                 "match_id": match.match_id, "opponent": opponent, "result": result,
                                 "mu": new.mu, "sigma": new.sigma, "ordinal": new.mu - 3 * new.sigma,
                                 "played_at": match.played_at})
    return board


_TALLY = {"win": "wins", "loss": "losses", "draw": "draws"}


def copy_board(board):
    """A copy of `board` that folding more matches into leaves `board` as it was."""
    return {key: replace(rating, history=list(rating.history)) for key, rating in board.items()}


def ranked(board):
    """The teams of `board` best first: by mu (the research notes found it ranks better than the
    conservative ordinal), then by name so equal ratings have a stable order."""
    return sorted(board.items(), key=lambda item: (-item[1].mu, item[0]))
