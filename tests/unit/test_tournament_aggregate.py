"""The Tournament aggregate driven purely: decide -> number -> apply, and replay of the produced log."""
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared import events
from shared import validation as v
from shared.state_machine import IllegalAction
from tests.support.aggregate import TID, Driver, assert_refused, registry_row, snapshot  # noqa: F401
from tournament_service.tournament import DomainError, Tournament

def rounds(t):
    """The winners' bracket round by round, each round in bracket order."""
    by_round = {}
    for m in t.matches.values():
        if m.get("bracket", "winners") == "winners":
            by_round.setdefault(m["round"], []).append(m)
    return [sorted(by_round[r], key=lambda m: m["position"]) for r in sorted(by_round)]


def registered(n, **publish_kw):
    d = Driver()
    d.publish(**publish_kw)
    ids = [d.register(f"Team {i}") for i in range(1, n + 1)]
    return d, ids


def play_out(d, pick, scores_for=None):
    """Record a result for every pending match of the current round until the tournament is over."""
    while d.t.state == "ACTIVE":
        pending = d.t.match_list()
        assert pending, "an ACTIVE tournament with nothing left to play"
        for m in pending:
            winner = pick(m)
            scores = scores_for(m, winner) if scores_for else None
            d.result(m["id"], winner, scores)


def better_seed(d):
    seed = {t: i for i, t in enumerate(d.t.seeded_team_ids)}
    return lambda m: min(m["team1_id"], m["team2_id"], key=seed.__getitem__)


# ---- publish ------------------------------------------------------------------------------------


def test_fresh_tournament_is_draft():
    t = Tournament(TID)
    s = t.summary()
    assert s["state"] == "DRAFT"
    assert s["seq"] == 0 and s["round"] == 0 and s["teams_count"] == 0 and s["champion"] is None
    assert s["allowed_actions"] == ["view", "edit", "publish", "delete", "cancel"]


def test_publish():
    d = Driver()
    produced = d.publish(max_teams=16, min_teams=4)
    assert [e["type"] for e in produced] == ["tournament_published", "state_changed"]
    assert [e["seq"] for e in produced] == [1, 2]
    assert all(e["tournament_id"] == TID for e in produced)
    assert produced[1]["from_state"] == "DRAFT" and produced[1]["to_state"] == "REGISTRATION"
    s = d.t.summary()
    assert s["state"] == "REGISTRATION"
    assert s["name"] == "Summer Cup"
    assert s["format"] == "single_elimination"
    assert s["max_teams"] == 16 and s["min_teams"] == 4
    assert s["seq"] == 2
    assert s["allowed_actions"] == ["view", "register_team", "unregister", "check_in", "start", "cancel"]
    # Every option is written out with its default, so a later change of a default can't change it.
    assert d.t.config == {"game": "chess", "format": "single_elimination", "max_teams": 16, "min_teams": 4,
                          "best_of": 1, "description": "", "starts_at": None, "organizer_id": None,
                          "options": {"check_in": False, "confirm_results": True, "final_best_of": None,
                                      "third_place_match": False}}


def test_publish_with_starts_at_stores_iso_text():
    from datetime import datetime, timezone

    d = Driver()
    d.publish(starts_at=datetime(2025, 12, 29, 19, 0, tzinfo=timezone.utc))
    assert d.t.config["starts_at"] == "2025-12-29T19:00:00+00:00"
    assert d.replay().config == d.t.config


def test_publish_twice_is_illegal():
    d = Driver()
    d.publish()
    err = assert_refused(d.t, lambda: d.t.decide_publish(registry_row()), IllegalAction)
    assert str(err) == "Can't trigger event publish from state REGISTRATION"


def test_decide_does_not_change_state():
    t = Tournament(TID)
    before = snapshot(t)
    produced = t.decide_publish(registry_row())
    assert len(produced) == 2
    assert snapshot(t) == before


# ---- registration -------------------------------------------------------------------------------


def test_register_teams():
    d = Driver()
    d.publish()
    produced = d.run("decide_register_team", "Reds", 2, ["ann", "bob"], "u_7")
    assert [e["type"] for e in produced] == ["team_registered"]
    assert produced[0]["team"] == {"id": "team_1", "name": "Reds", "seed": 2, "captain": "u_7",
                                   "players": ["ann", "bob"]}
    d.register("Blues")
    assert [t["id"] for t in d.t.team_list()] == ["team_1", "team_2"]
    assert d.t.summary()["teams_count"] == 2
    assert d.t.summary()["seq"] == 4


def test_register_in_draft_is_illegal():
    t = Tournament(TID)
    err = assert_refused(t, lambda: t.decide_register_team("Reds"), IllegalAction)
    assert (err.action, err.state) == ("register_team", "DRAFT")


@pytest.mark.parametrize(("first", "second"), [
    ("Red Dragons", "red dragons"),
    ("Red Dragons", "RED DRAGONS"),
    ("red dragons", "Red Dragons"),
    ("Straße", "STRASSE"),  # casefold, not just lower()
])
def test_duplicate_names_case_insensitive(first, second):
    d = Driver()
    d.publish()
    d.register(first)
    err = assert_refused(d.t, lambda: d.t.decide_register_team(second), DomainError, 409, "team_name_taken")
    assert "name" in err.fields


def test_duplicate_name_after_api_normalisation():
    # The API's validator trims and collapses whitespace before the aggregate sees the name.
    clean = v.string(1, 50)
    d = Driver()
    d.publish()
    d.register(clean("Red Dragons"))
    assert_refused(d.t, lambda: d.t.decide_register_team(clean("  red   DRAGONS \t")), DomainError, 409,
                   "team_name_taken")


def test_different_names_are_accepted():
    d = Driver()
    d.publish()
    d.register("Red Dragons")
    d.register("Red Dragon")
    d.register("Red Dragons 2")
    assert len(d.t.teams) == 3


def test_name_free_again_after_unregister():
    d = Driver()
    d.publish()
    team = d.register("Reds")
    d.run("decide_unregister", team)
    assert d.register("REDS") == "team_2"


def test_tournament_full():
    d, ids = registered(8, max_teams=8)
    assert_refused(d.t, lambda: d.t.decide_register_team("Team 9"), DomainError, 409, "tournament_full")
    # A place freed by unregistering can be taken; team ids are never reused.
    d.run("decide_unregister", ids[3])
    assert d.register("Team 9") == "team_9"
    assert_refused(d.t, lambda: d.t.decide_register_team("Team 10"), DomainError, 409, "tournament_full")


def test_seed_above_max_teams_is_invalid():
    d = Driver()
    d.publish(max_teams=8)
    d.register("A", seed=8)
    err = assert_refused(d.t, lambda: d.t.decide_register_team("B", seed=9), DomainError, 400, "invalid_input")
    assert "seed" in err.fields


def test_seed_taken():
    d = Driver()
    d.publish()
    d.register("A", seed=3)
    assert_refused(d.t, lambda: d.t.decide_register_team("B", seed=3), DomainError, 409, "seed_taken")
    d.register("B", seed=4)


def test_unregister():
    d, ids = registered(3)
    produced = d.run("decide_unregister", ids[1])
    assert produced[0]["type"] == "team_unregistered"
    assert produced[0]["team_id"] == ids[1] and produced[0]["name"] == "Team 2"
    assert [t["id"] for t in d.t.team_list()] == [ids[0], ids[2]]
    assert_refused(d.t, lambda: d.t.decide_unregister(ids[1]), DomainError, 404, "team_not_found")
    assert_refused(d.t, lambda: d.t.decide_unregister("team_99"), DomainError, 404, "team_not_found")


# ---- start --------------------------------------------------------------------------------------


def test_start_with_too_few_teams():
    d, _ids = registered(3, min_teams=4)
    assert_refused(d.t, lambda: d.t.decide_start(), DomainError, 409, "not_enough_teams")
    d.register("Team 4")
    d.start()
    assert d.t.state == "ACTIVE"


@pytest.mark.parametrize("min_teams", [0, 1, 2])
def test_start_always_needs_two_teams(min_teams):
    d, _ids = registered(1, min_teams=min_teams)
    assert_refused(d.t, lambda: d.t.decide_start(), DomainError, 409, "not_enough_teams")


def test_start_with_no_teams():
    d, _ids = registered(0)
    assert_refused(d.t, lambda: d.t.decide_start(), DomainError, 409, "not_enough_teams")


def test_start_builds_round_one():
    d, ids = registered(8)
    produced = d.start()
    assert [e["type"] for e in produced] == ["state_changed", "round_advanced"]
    assert produced[0]["from_state"] == "REGISTRATION" and produced[0]["to_state"] == "ACTIVE"
    assert produced[0]["action"] == "start"
    assert produced[1]["new_round"] == 1 and produced[1]["matches_count"] == 4
    assert produced[1]["seeding"] == ids
    # The whole bracket is made at once: 4 + 2 + 1 matches, the later ones waiting for teams.
    assert [m["id"] for m in produced[1]["matches"]] == [f"r1_match_{p}" for p in (1, 2, 3, 4)] + [
        "r2_match_1", "r2_match_2", "r3_match_1"]
    s = d.t.summary()
    assert s["state"] == "ACTIVE" and s["round"] == 1
    assert s["allowed_actions"] == ["view", "record_result", "correct_result", "abandon_match", "disqualify",
                                    "drop", "cancel"]
    pairs = [(m["team1_id"], m["team2_id"]) for m in d.t.match_list()]
    assert pairs == [(ids[0], ids[7]), (ids[3], ids[4]), (ids[1], ids[6]), (ids[2], ids[5])]
    assert [t["seed"] for t in d.t.team_list()] == [1, 2, 3, 4, 5, 6, 7, 8]


def test_given_seeds_keep_their_place_others_fill_by_registration():
    d = Driver()
    d.publish(max_teams=8)
    a = d.register("A")
    b = d.register("B", seed=1)
    c = d.register("C")
    dd = d.register("D", seed=3)
    e = d.register("E")
    f = d.register("F", seed=6)
    d.start()
    assert d.t.seeded_team_ids == [b, a, dd, c, e, f]
    assert {t["id"]: t["seed"] for t in d.t.team_list()} == {b: 1, a: 2, dd: 3, c: 4, e: 5, f: 6}
    assert d.t.standings()[0]["team_id"] == b


def test_seeds_beyond_the_field_take_free_places_first_in_seed_order():
    d = Driver()
    d.publish(max_teams=8)
    a = d.register("A")
    s8 = d.register("S8", seed=8)
    b = d.register("B")
    s2 = d.register("S2", seed=2)
    s7 = d.register("S7", seed=7)
    # 5 teams: seeds 7 and 8 do not exist; they take the free places before the unseeded teams.
    d.start()
    assert d.t.seeded_team_ids == [s7, s2, s8, a, b]


def test_seeding_before_start_in_standings():
    d = Driver()
    d.publish()
    a = d.register("A")
    b = d.register("B", seed=1)
    rows = d.t.standings()
    assert [r["team_id"] for r in rows] == [b, a]
    assert [r["seed"] for r in rows] == [1, 2]


def test_start_with_byes():
    d, ids = registered(5)
    d.start()
    matches = d.t.match_list(round_no=1)
    byes = [m for m in matches if m["status"] == "bye"]
    assert sorted(m["team1_id"] for m in byes) == sorted(ids[:3])
    assert all(m["winner"] == m["team1_id"] and m["team2_id"] is None for m in byes)
    pending = [m for m in matches if m["status"] == "pending"]
    assert [(m["team1_id"], m["team2_id"]) for m in pending] == [(ids[3], ids[4])]
    # Seeds 2 and 3 both came through byes: their round-2 match can be played at once.
    assert [(m["id"], m["team1_id"], m["team2_id"]) for m in d.t.match_list()] == [
        ("r1_match_2", ids[3], ids[4]), ("r2_match_2", ids[1], ids[2])]


# ---- results ------------------------------------------------------------------------------------


def test_record_result_validation():
    d, ids = registered(5)
    d.start()
    bye = next(m for m in rounds(d.t)[0] if m["status"] == "bye")
    real = next(m for m in rounds(d.t)[0] if m["status"] == "pending")
    t1, t2 = real["team1_id"], real["team2_id"]

    assert_refused(d.t, lambda: d.t.decide_record_result(bye["id"], bye["team1_id"]), DomainError, 409,
                   "match_not_pending")
    assert_refused(d.t, lambda: d.t.decide_record_result("r1_match_99", t1), DomainError, 404, "match_not_found")
    assert_refused(d.t, lambda: d.t.decide_record_result("r9_match_1", t1), DomainError, 404, "match_not_found")
    # r2_match_1 waits for the winner of r1_match_2.
    err = assert_refused(d.t, lambda: d.t.decide_record_result("r2_match_1", t1), DomainError, 409,
                         "match_not_ready")
    assert err.fields == {"state": "waiting"}
    err = assert_refused(d.t, lambda: d.t.decide_record_result(real["id"], ids[0]), DomainError, 400,
                         "invalid_input")
    assert "winner" in err.fields
    assert_refused(d.t, lambda: d.t.decide_record_result(real["id"], None), DomainError, 400, "invalid_input")
    err = assert_refused(d.t, lambda: d.t.decide_record_result(real["id"], t1, [1, 2]), DomainError, 400,
                         "invalid_input")
    assert "scores" in err.fields
    assert_refused(d.t, lambda: d.t.decide_record_result(real["id"], t1, [2, 2]), DomainError, 400,
                   "invalid_input")
    assert_refused(d.t, lambda: d.t.decide_record_result(real["id"], t2, [3, 1]), DomainError, 400,
                   "invalid_input")

    # Scores are [team1, team2]: team2 winning 1-3 is fine.
    produced = d.result(real["id"], t2, [1, 3])
    assert produced[0]["type"] == "match_result"
    assert produced[0]["winner"] == t2 and produced[0]["scores"] == [1, 3]
    assert produced[0]["team1_id"] == t1 and produced[0]["team2_id"] == t2 and produced[0]["round"] == 1
    assert d.t.matches[real["id"]]["status"] == "completed"
    assert d.t.matches[real["id"]]["winner"] == t2
    assert d.t.matches[real["id"]]["scores"] == [1, 3]
    # The only real match in round 1 decided: round 2 is built at once.
    assert [e["type"] for e in produced] == ["match_result", "round_advanced"]
    assert d.t.current_round == 2

    assert_refused(d.t, lambda: d.t.decide_record_result(real["id"], t2), DomainError, 409, "match_not_pending")
    assert_refused(d.t, lambda: d.t.decide_record_result(real["id"], t1), DomainError, 409, "match_not_pending")


def test_result_for_completed_match_in_same_round_is_not_pending():
    d, _ids = registered(8)
    d.start()
    m = rounds(d.t)[0][0]
    d.result(m["id"], m["team1_id"])
    assert d.t.current_round == 1
    assert_refused(d.t, lambda: d.t.decide_record_result(m["id"], m["team2_id"]), DomainError, 409,
                   "match_not_pending")


def test_round_advances_only_when_round_is_done():
    d, ids = registered(8)
    d.start()
    round1 = list(rounds(d.t)[0])
    for m in round1[:-1]:
        produced = d.result(m["id"], m["team2_id"])
        assert [e["type"] for e in produced] == ["match_result"]
        assert d.t.current_round == 1
    produced = d.result(round1[-1]["id"], round1[-1]["team1_id"])
    assert [e["type"] for e in produced] == ["match_result", "round_advanced"]
    advanced = produced[1]
    assert advanced["new_round"] == 2 and advanced["matches_count"] == 2
    winners = [ids[7], ids[4], ids[6], ids[2]]
    assert [(m["team1_id"], m["team2_id"]) for m in d.t.match_list()] == [(winners[0], winners[1]),
                                                                        (winners[2], winners[3])]
    assert [m["id"] for m in d.t.match_list()] == ["r2_match_1", "r2_match_2"]
    assert d.t.match_list(round_no=1, status="completed") == [dict(m) for m in rounds(d.t)[0]]


# ---- wrong states -------------------------------------------------------------------------------


def test_actions_in_wrong_state():
    t = Tournament(TID)
    assert_refused(t, lambda: t.decide_start(), IllegalAction)
    assert_refused(t, lambda: t.decide_unregister("team_1"), IllegalAction)
    assert_refused(t, lambda: t.decide_record_result("r1_match_1", "team_1"), IllegalAction)
    assert_refused(t, lambda: t.decide_archive(), IllegalAction)

    d, ids = registered(4)
    t = d.t
    err = assert_refused(t, lambda: t.decide_record_result("r1_match_1", ids[0]), IllegalAction)
    assert str(err) == "Can't trigger event record_result from state REGISTRATION"
    assert_refused(t, lambda: t.decide_archive(), IllegalAction)

    d.start()
    err = assert_refused(t, lambda: t.decide_register_team("Late"), IllegalAction)
    assert str(err) == "Can't trigger event register_team from state ACTIVE"
    assert_refused(t, lambda: t.decide_unregister(ids[0]), IllegalAction)
    assert_refused(t, lambda: t.decide_start(), IllegalAction)
    assert_refused(t, lambda: t.decide_publish(registry_row()), IllegalAction)
    assert_refused(t, lambda: t.decide_archive(), IllegalAction)

    play_out(d, better_seed(d))
    assert t.state == "COMPLETED"
    for call in (lambda: t.decide_record_result("r2_match_1", ids[0]), t.decide_start, t.decide_cancel,
                 lambda: t.decide_register_team("Late")):
        assert_refused(t, call, IllegalAction)
    err = assert_refused(t, t.decide_cancel, IllegalAction)
    assert (err.action, err.state) == ("cancel", "COMPLETED")

    produced = d.run("decide_archive")
    assert produced[0]["from_state"] == "COMPLETED" and produced[0]["to_state"] == "ARCHIVED"
    assert t.summary()["allowed_actions"] == ["view"]
    for call in (t.decide_archive, t.decide_cancel, t.decide_start, lambda: t.decide_register_team("X"),
                 lambda: t.decide_publish(registry_row())):
        assert_refused(t, call, IllegalAction)


@pytest.mark.parametrize("when", ["DRAFT", "REGISTRATION", "ACTIVE"])
def test_cancel(when):
    d = Driver()
    if when != "DRAFT":
        d.publish()
        d.register("A")
        d.register("B")
    if when == "ACTIVE":
        d.start()
    produced = d.run("decide_cancel")
    assert produced[0]["type"] == "state_changed"
    assert produced[0]["from_state"] == when and produced[0]["to_state"] == "CANCELLED"
    assert produced[0]["action"] == "cancel"
    t = d.t
    assert t.state == "CANCELLED" and t.summary()["allowed_actions"] == ["view"]
    for call in (t.decide_cancel, t.decide_archive, t.decide_start, lambda: t.decide_register_team("C"),
                 lambda: t.decide_record_result("r1_match_1", "team_1"), lambda: t.decide_unregister("team_1")):
        assert_refused(t, call, IllegalAction)
    assert snapshot(d.replay()) == snapshot(t)


# ---- a whole tournament -------------------------------------------------------------------------


def test_full_tournament_of_eight():
    d, ids = registered(8)
    d.start()
    play_out(d, better_seed(d), scores_for=lambda m, w: [2, 0] if w == m["team1_id"] else [0, 2])
    t = d.t
    s = t.summary()
    assert s["state"] == "COMPLETED"
    assert s["champion"] == ids[0] == t.champion
    assert s["round"] == 3
    assert s["allowed_actions"] == ["view", "archive"]
    last = [events.decode(text) for text in d.log[-3:]]
    assert [e["type"] for e in last] == ["match_result", "state_changed", "tournament_completed"]
    assert last[1]["to_state"] == "COMPLETED" and last[1]["action"] == "complete"
    assert last[2]["champion"] == ids[0] and last[2]["champion_name"] == "Team 1"
    assert [e["seq"] for e in map(events.decode, d.log)] == list(range(1, len(d.log) + 1))

    rows = t.standings()
    assert [r["rank"] for r in rows] == [1, 2, 3, 3, 5, 5, 5, 5]
    assert rows[0]["team_id"] == ids[0] and rows[0]["name"] == "Team 1"
    assert rows[0]["wins"] == 3 and rows[0]["losses"] == 0 and not rows[0]["eliminated"]
    assert rows[1]["team_id"] == ids[1] and rows[1]["wins"] == 2 and rows[1]["losses"] == 1
    assert {r["team_id"] for r in rows[2:4]} == {ids[2], ids[3]}
    assert {r["team_id"] for r in rows[4:]} == set(ids[4:])
    assert all(r["eliminated"] for r in rows[1:])
    assert [r["round_reached"] for r in rows] == [3, 3, 2, 2, 1, 1, 1, 1]


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7, 8])
@pytest.mark.parametrize("rng_seed", [0, 1, 2])
def test_full_tournament_standings_random(n, rng_seed):
    rnd = random.Random(rng_seed * 100 + n)
    d, ids = registered(n)
    d.start()
    play_out(d, lambda m: rnd.choice([m["team1_id"], m["team2_id"]]))
    t = d.t
    assert t.state == "COMPLETED"
    final = rounds(t)[-1]
    assert len(final) == 1
    champion = final[0]["winner"]
    finalist = final[0]["team2_id"] if champion == final[0]["team1_id"] else final[0]["team1_id"]
    assert t.champion == champion
    rows = t.standings()
    assert rows[0]["rank"] == 1 and rows[0]["team_id"] == champion
    assert rows[1]["rank"] == 2 and rows[1]["team_id"] == finalist
    if len(rounds(t)) >= 2:
        semis = rounds(t)[-2]
        semi_losers = {m["team2_id"] if m["winner"] == m["team1_id"] else m["team1_id"]
                       for m in semis if m["status"] == "completed"}
        assert {r["team_id"] for r in rows if r["rank"] == 3} == semi_losers
    played = [m for r in rounds(t) for m in r if m["status"] == "completed"]
    assert len(played) == n - 1
    assert sorted(r["team_id"] for r in rows) == sorted(ids)


# ---- event-sourcing replay ----------------------------------------------------------------------


def assert_same(live, replayed):
    assert replayed.summary() == live.summary()
    assert replayed.matches == live.matches
    assert rounds(replayed) == rounds(live)
    assert replayed.team_list() == live.team_list()
    assert replayed.standings() == live.standings()
    assert replayed.bracket() == live.bracket()
    assert replayed.seeded_team_ids == live.seeded_team_ids
    assert replayed.config == live.config
    assert replayed.teams_registered == live.teams_registered


def test_replay_gives_identical_state_at_every_step():
    rnd = random.Random(7)
    d = Driver()
    d.publish(max_teams=8)
    assert_same(d.t, d.replay())
    for i, seed in enumerate([None, 3, None, 1, None, None, 8]):
        d.register(f"T{i}", seed=seed)
        assert_same(d.t, d.replay())
    d.run("decide_unregister", "team_3")
    d.register("Late")
    assert_same(d.t, d.replay())
    d.start()
    assert_same(d.t, d.replay())
    while d.t.state == "ACTIVE":
        m = d.t.match_list()[0]
        w = rnd.choice([m["team1_id"], m["team2_id"]])
        d.result(m["id"], w, [3, 1] if w == m["team1_id"] else [1, 3])
        assert_same(d.t, d.replay())
    d.run("decide_archive")
    replayed = d.replay()
    assert_same(d.t, replayed)
    assert replayed.state == "ARCHIVED"
    assert replayed.seq == len(d.log)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_tournaments_replay_and_invariants(data):
    max_teams = data.draw(st.integers(2, 16), label="max_teams")
    n = data.draw(st.integers(2, max_teams), label="teams")
    d = Driver()
    d.publish(max_teams=max_teams, min_teams=2)
    seeds_free = list(range(1, max_teams + 1))
    given_seed = {}  # team id -> seed asked for at registration, in registration order
    for i in range(n):
        seed = data.draw(st.none() | st.sampled_from(seeds_free), label=f"seed{i}") if seeds_free else None
        if seed is not None:
            seeds_free.remove(seed)
        given_seed[d.register(f"Team {i}", seed=seed)] = seed
    d.start()
    seeding = d.t.seeded_team_ids
    assert sorted(seeding) == sorted(given_seed)
    # Expected independently: in-range seeds keep their place; the free places are filled by
    # over-range seeds (in seed order), then unseeded teams (in registration order).
    expected = [None] * n
    for team_id, seed in given_seed.items():
        if seed is not None and seed <= n:
            expected[seed - 1] = team_id
    over = sorted((s, t) for t, s in given_seed.items() if s is not None and s > n)
    fill = iter([t for _s, t in over] + [t for t, s in given_seed.items() if s is None])
    expected = [slot if slot is not None else next(fill) for slot in expected]
    assert seeding == expected
    assert [d.t.teams[t]["seed"] for t in seeding] == list(range(1, n + 1))
    while d.t.state == "ACTIVE":
        m = data.draw(st.sampled_from(d.t.match_list()), label="match")
        w = data.draw(st.sampled_from([m["team1_id"], m["team2_id"]]), label="winner")
        bad = m["team2_id"] if w == m["team1_id"] else m["team1_id"]
        assert_refused(d.t, lambda: d.t.decide_record_result(m["id"], w, [1, 1]), DomainError, 400)
        assert_refused(d.t, lambda: d.t.decide_record_result(m["id"], "team_999"), DomainError, 400)
        d.result(m["id"], w)
        refusal = DomainError if d.t.state == "ACTIVE" else IllegalAction
        assert_refused(d.t, lambda: d.t.decide_record_result(m["id"], bad), refusal)
    assert d.t.state == "COMPLETED"
    played = [m for r in rounds(d.t) for m in r if m["status"] == "completed"]
    assert len(played) == n - 1
    rows = d.t.standings()
    assert rows[0]["team_id"] == d.t.champion and rows[0]["rank"] == 1
    assert [r["rank"] for r in rows].count(1) == 1
    assert [r["rank"] for r in rows].count(2) == 1
    assert_same(d.t, d.replay())
