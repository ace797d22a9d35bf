"""Who hears what (tournament_service/notifications.py), from the events the aggregate decides."""
from tests.support.aggregate import Driver
from tournament_service.notifications import notifications_for


def started(n=4, **options):
    d = Driver()
    d.publish(max_teams=n, options=options, organizer_id=99)
    ids = [d.register(f"Team {i}", captain=i) for i in range(1, n + 1)]
    d.start()
    return d, ids


def heard(d, method, *args):
    """[(user, type, data)] the command's events notify, the aggregate before them."""
    before = d.replay()
    produced = d.run(method, *args)
    return [(user, n["type"], n) for user, n in notifications_for(before, produced, ())]


def test_a_report_asks_the_opponent_and_a_dispute_reaches_the_organizer():
    d, ids = started()
    match = d.t.match_list()[0]
    t1, t2 = match["team1_id"], match["team2_id"]
    cap1, cap2 = d.t.teams[t1]["captain"], d.t.teams[t2]["captain"]
    told = heard(d, "decide_record_result", match["id"], t1, [1, 0], t1)
    assert [(user, kind) for user, kind, _ in told] == [(cap2, "match_reported")]
    assert told[0][2]["reported_by"] == t1 and told[0][2]["scores"] == [1, 0]
    told = heard(d, "decide_record_result", match["id"], t2, None, t2)
    assert sorted((user, kind) for user, kind, _ in told) == sorted(
        [(cap1, "match_disputed"), (cap2, "match_disputed"), (99, "match_disputed")])


def test_a_correction_tells_both_captains_and_the_new_finalist_its_match():
    d, ids = started()
    first, second = d.t.match_list()
    d.result(first["id"], first["team1_id"])
    told = heard(d, "decide_correct_result", first["id"], first["team2_id"])
    results = [(user, n["won"], n["corrected"]) for user, kind, n in told if kind == "match_result"]
    assert sorted(results) == sorted([(d.t.teams[first["team1_id"]]["captain"], False, True),
                                      (d.t.teams[first["team2_id"]]["captain"], True, True)])
    assert not [kind for _, kind, _ in told if kind == "match_ready"]  # the final still waits
    d.result(second["id"], second["team1_id"])
    assert d.t.match_list()[0]["team1_id"] == first["team2_id"]


def test_the_final_becoming_playable_tells_both_finalists():
    d, ids = started()
    first, second = d.t.match_list()
    d.result(first["id"], first["team1_id"])
    told = heard(d, "decide_record_result", second["id"], second["team2_id"], None, None)
    ready = sorted((user, n["opponent_id"]) for user, kind, n in told if kind == "match_ready")
    assert ready == sorted([(d.t.teams[first["team1_id"]]["captain"], second["team2_id"]),
                            (d.t.teams[second["team2_id"]]["captain"], first["team1_id"])])


def test_a_disqualified_team_hears_it():
    d, ids = started()
    told = heard(d, "decide_disqualify", ids[3])
    assert (d.t.teams[ids[3]]["captain"], "team_disqualified") in [(user, kind) for user, kind, _ in told]
