"""A round robin (and group_playoff's groups) makes each round of its schedule when the round
begins: the start stays small whatever the field, and captains hear of a match when its round comes."""
import itertools

import pytest

from shared import events
from tests.support.aggregate import Driver, snapshot
from tournament_service.engine import round_robin as rr
from tournament_service.notifications import notifications_for


def started(n, format_name="round_robin", **options):
    d = Driver()
    d.publish(max_teams=n, min_teams=min(n, 4), format=format_name, options=options)
    ids = [d.register(f"Team {k}", captain=100 + k) for k in range(n)]
    before = d.replay()
    produced = d.start()
    return d, ids, notifications_for(before, produced, ())


def test_one_round_on_its_own_is_fides_round():
    # The module's docstring table for 6: round 3 is 2-6 3-1 4-5.
    third = rr.schedule_round([1, 2, 3, 4, 5, 6], 3)
    assert [(m["team1_id"], m["team2_id"]) for m in third] == [(2, 6), (3, 1), (4, 5)]
    assert {m["round"] for m in third} == {3}
    # Double: the first cycle plays its last two rounds in reverse; the second swaps sides.
    def pairs(round_no, double=False):
        return [(m["team1_id"], m["team2_id"]) for m in rr.schedule_round([1, 2, 3, 4, 5, 6], round_no, double)]
    assert pairs(4, double=True) == pairs(5) and pairs(5, double=True) == pairs(4)
    assert pairs(8, double=True) == [(6, 2), (1, 3), (5, 4)]  # round 3 of the table, sides swapped
    for bad in (0, 6):
        with pytest.raises(ValueError):
            rr.schedule_round([1, 2, 3, 4, 5, 6], bad)


@pytest.mark.parametrize("format_name, options", [("round_robin", {}), ("group_playoff", {"groups": 2})])
def test_the_start_of_1024_teams_playing_round_robins_carries_round_1_only(format_name, options):
    d, ids, told = started(1024, format_name, **options)
    start = events.decode(d.log[-1])
    assert start["type"] == events.ROUND_ADVANCED
    assert len(start["matches"]) == 512 and {m["round"] for m in start["matches"]} == {1}
    assert len(events.encode(start)) < 200_000  # the whole schedule would be ~40-80 MB
    kinds = sorted(n["type"] for _user, n in told)
    assert kinds == ["match_ready"] * 1024 + ["tournament_starting"] * 1024


@pytest.mark.parametrize("n, double", [(6, False), (5, False), (4, True)])
def test_each_round_comes_when_the_last_one_is_decided_and_its_captains_hear_of_it(n, double):
    d, ids, _told = started(n, double_round_robin=double)
    captain = {team: d.t.teams[team]["captain"] for team in ids}
    for round_no in range(1, rr.round_count(n, double) + 1):
        current = [m for m in d.t.matches.values() if m["round"] == round_no]
        assert max(m["round"] for m in d.t.matches.values()) == round_no  # nothing made ahead
        playing = [m for m in current if m["team2_id"] is not None]
        *first, last = playing
        for match in first:
            d.result(match["id"], match["team1_id"])
        before = d.replay()
        produced = d.result(last["id"], last["team2_id"])
        heard = sorted((user, n["match_id"]) for user, n in notifications_for(before, produced, ())
                       if n["type"] == "match_ready")
        following = [m for m in d.t.matches.values() if m["round"] == round_no + 1 and m["team2_id"] is not None]
        assert heard == sorted((captain[team], m["id"]) for m in following for team in (m["team1_id"], m["team2_id"]))
    assert d.t.state == "COMPLETED"
    played = sorted(sorted((m["team1_id"], m["team2_id"])) for m in d.t.matches.values() if m["team2_id"] is not None)
    assert played == sorted([sorted(pair) for pair in itertools.combinations(ids, 2)] * (2 if double else 1))
    assert snapshot(d.replay()) == snapshot(d.t)
