"""The leaderboard of a game: ratings recomputed from the logs of its ended tournaments on read,
kept in a cache keyed by which tournaments have ended.

Only COMPLETED and ARCHIVED tournaments count (drafts, running and cancelled ones don't). Once
COMPLETED, a tournament's log takes no more results (corrections are ACTIVE-only), so the set of
ended tournaments of a game decides its ratings entirely: the cache key. Why recompute rather than
keep a table: ARCHITECTURE.md "Leaderboard".
"""
import base64
import binascii
import json
import threading
from dataclasses import dataclass

import sqlalchemy as sa

from orchestrator.extensions import db
from orchestrator.services import ratings
from shared import events
from shared import state_machine as sm
from shared.cooperative import off_the_hub
from shared.db.tables import tournament_events, tournaments
from shared.errors import APIError

ENDED = (sm.COMPLETED, sm.ARCHIVED)
_LOGGED = (events.TEAM_REGISTERED, events.MATCH_RESULT, events.RESULT_CORRECTED, events.TOURNAMENT_COMPLETED)
_CACHED_GAMES = 64
_CACHED_TOURNAMENTS = 20_000


class BoardCache:
    """Per app: each ended tournament's rated matches (they never change once it completed), and
    per game the board computed from a set of ended tournaments."""

    def __init__(self):
        self.results = {}  # tournament id -> (completion key, [PlayedMatch])
        self._boards = {}  # game key -> Board
        self._lock = threading.Lock()

    def board(self, game_key):
        with self._lock:
            return self._boards.get(game_key)

    def put(self, game_key, board):
        with self._lock:
            if len(self._boards) >= _CACHED_GAMES and game_key not in self._boards:
                self._boards.pop(next(iter(self._boards)))
            self._boards[game_key] = board
            if len(self.results) > _CACHED_TOURNAMENTS:  # rare: start again rather than track use
                self.results.clear()


@dataclass(frozen=True)
class Board:
    """A game's ratings (never changed once made) and the ended tournaments they fold."""

    ended: frozenset
    last: tuple  # the completion key of the last tournament folded
    ratings: dict


def ended_tournament_ids(game):
    """The ids of the game's COMPLETED and ARCHIVED tournaments (the game matched case-insensitively)."""
    return frozenset(db.session.execute(
        sa.select(tournaments.c.id).where(sa.func.lower(tournaments.c.game) == game.lower(),
                                          tournaments.c.state.in_(ENDED))).scalars())


def tournament_results(tournament_ids):
    """{id: (completion key, its rated matches)} read from the tournaments' logs; the key orders
    tournaments by when they completed (the timestamp of tournament_completed, then the id)."""
    if not tournament_ids:
        return {}
    names = dict(db.session.execute(sa.select(tournaments.c.id, tournaments.c.name)
                                    .where(tournaments.c.id.in_(tournament_ids))).all())
    logs = {tournament_id: [] for tournament_id in tournament_ids}
    rows = db.session.execute(
        sa.select(tournament_events.c.tournament_id, tournament_events.c.payload)
        .where(tournament_events.c.tournament_id.in_(tournament_ids), tournament_events.c.type.in_(_LOGGED))
        .order_by(tournament_events.c.tournament_id, tournament_events.c.seq))
    for tournament_id, payload in rows:
        logs[tournament_id].append(payload)
    # Parsing thousands of logs takes seconds: off the hub, so this worker's other requests and
    # SSE viewers are served meanwhile.
    return off_the_hub(_rated_matches, logs, names)


def _rated_matches(logs, names):
    """{id: (completion key, rated matches)} of the logs' JSON texts (pure, CPU-bound)."""
    parsed = {t: [json.loads(text) for text in texts] for t, texts in logs.items()}
    return {t: ((next((e["timestamp"] for e in reversed(log) if e["type"] == events.TOURNAMENT_COMPLETED), ""), t),
                ratings.played_matches(t, names[t], log)) for t, log in parsed.items()}


def board_of(game, cache):
    """{team key: TeamRating} of `game`. From `cache` when no tournament of it ended since; when
    some did, after all those folded so far (the usual case), only their matches are folded in;
    otherwise everything is folded again."""
    game_key = game.lower()  # as the registry query matches it
    ended = ended_tournament_ids(game)
    known = cache.board(game_key)
    if known is not None and known.ended == ended:
        return known.ratings
    results = cache.results
    results.update(tournament_results(ended - results.keys()))
    order = sorted(ended, key=lambda t: results[t][0])
    new = [t for t in order if known is None or t not in known.ended]
    if known is not None and known.ended <= ended and results[new[0]][0] > known.last:
        board = ratings.copy_board(known.ratings)
    else:
        board, new = {}, order
    off_the_hub(_fold, [results[t][1] for t in new], board)
    cache.put(game_key, Board(ended, results[order[-1]][0] if order else ("", ""), board))
    return board


def _fold(matches_by_tournament, board):
    """Rate each tournament's matches into `board`, in order (pure, CPU-bound: seconds for a
    game's whole history)."""
    for matches in matches_by_tournament:
        ratings.rate(matches, board)


def rating_item(rank, rating):
    return {"rank": rank, "team": rating.team, "mu": rating.mu, "sigma": rating.sigma, "ordinal": rating.ordinal,
            "matches": rating.matches, "wins": rating.wins, "losses": rating.losses, "draws": rating.draws,
            "last_played": rating.last_played}


def leaderboard(game, cache, limit=50, cursor=None):
    """(a page of `game`'s leaderboard items best first, next cursor or None).

    :raise APIError 400: for a cursor this function did not make.
    """
    order = ratings.ranked(board_of(game, cache))
    start = 0
    if cursor is not None:
        after = _decode_cursor(cursor)
        start = next((i for i, (key, r) in enumerate(order) if (-r.mu, key) > after), len(order))
    page = order[start:start + limit]
    items = [rating_item(start + i + 1, rating) for i, (_key, rating) in enumerate(page)]
    more = start + limit < len(order)
    return items, (_encode_cursor(page[-1]) if more else None)


def team_history(game, name, cache):
    """The team's current rating (with its rank) and its rating after each of its matches.

    :raise APIError 404: when the team played no rated match of `game`.
    """
    key = ratings.team_key(name)
    order = ratings.ranked(board_of(game, cache))
    rank = next((i for i, (k, _r) in enumerate(order, start=1) if k == key), None)
    if rank is None:
        raise APIError(404, "team_not_found", f"No team {name!r} has a rated match in {game!r}.")
    rating = order[rank - 1][1]
    return {**rating_item(rank, rating), "game": game, "history": list(rating.history)}


def _encode_cursor(entry):
    key, rating = entry
    return base64.urlsafe_b64encode(json.dumps([rating.mu, key]).encode()).decode()


def _decode_cursor(cursor):
    """(-mu, team key) of the last item of the previous page."""
    try:
        mu, key = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        if not isinstance(mu, float) or not isinstance(key, str):
            raise ValueError
        return (-mu, key)
    except (ValueError, TypeError, UnicodeError, binascii.Error):
        raise APIError(400, "invalid_input", "The cursor is not one this API made.",
                       {"cursor": "must be a next_cursor from a previous page"}) from None


def games():
    """The games with ended tournaments, most tournaments first: [{game, tournaments}]."""
    lowered = sa.func.lower(tournaments.c.game)
    rows = db.session.execute(
        sa.select(sa.func.min(tournaments.c.game), sa.func.count())
        .where(tournaments.c.state.in_(ENDED)).group_by(lowered)
        .order_by(sa.func.count().desc(), lowered)).all()
    return [{"game": game, "tournaments": count} for game, count in rows]
