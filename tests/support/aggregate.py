"""Driving the Tournament aggregate purely, as the server does: decide -> number -> apply, and replay."""
import copy

import pytest

from shared import events
from tournament_service.tournament import Tournament

TID = "t_1"


def registry_row(max_teams=8, min_teams=2, name="Summer Cup", **extra):
    row = {"name": name, "game": "chess", "format": "single_elimination", "max_teams": max_teams,
           "min_teams": min_teams, "best_of": 1, "description": "", "starts_at": None}
    row.update(extra)
    return row


class Driver:
    """One live aggregate plus the log it produced (stored as JSON text, as the server does)."""

    def __init__(self, tournament_id=TID):
        self.t = Tournament(tournament_id)
        self.log = []  # encoded events

    def run(self, method, *args, **kwargs):
        produced = getattr(self.t, method)(*args, **kwargs)
        assert isinstance(produced, list)
        for event in produced:
            event["seq"] = self.t.seq + 1
            self.log.append(events.encode(event))
            self.t.apply(event)
        return produced

    def publish(self, **kw):
        return self.run("decide_publish", registry_row(**kw))

    def register(self, name, seed=None, players=None, captain=None):
        produced = self.run("decide_register_team", name, seed, players, captain)
        return produced[0]["team"]["id"]

    def start(self):
        return self.run("decide_start")

    def result(self, match_id, winner, scores=None, reporter=None):
        return self.run("decide_record_result", match_id, winner, scores, reporter)

    def replay(self):
        fresh = Tournament(self.t.id)
        for text in self.log:
            fresh.apply(events.decode(text))
        return fresh


def snapshot(t):
    """Everything observable about the aggregate, deep-copied."""
    return copy.deepcopy({
        "summary": t.summary(), "teams": t.team_list(), "matches": t.matches,
        "seeded": t.seeded_team_ids, "champion": t.champion, "config": t.config, "name": t.name,
        "state": t.state, "seq": t.seq, "teams_registered": t.teams_registered,
    })


def assert_refused(t, call, exc_type, status=None, code=None):
    """`call()` raises `exc_type` (with the given status/code) and leaves `t` unchanged."""
    before = snapshot(t)
    with pytest.raises(exc_type) as info:
        call()
    if status is not None:
        assert info.value.status == status
    if code is not None:
        assert info.value.code == code
    assert snapshot(t) == before
    return info.value
