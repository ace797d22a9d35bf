"""One tournament from creation to archive through the real orchestrator and its spawned server."""
import requests

from shared.identity import sign
from tests.conftest import GATEWAY_SECRET
from tests.e2e.helpers import server_of
from tests.support.api import ok, play_round
from tests.support.processes import pid_alive, port_is_free, wait_until
from tests.support.sse import SSEClient

EXPECTED_TYPES = (
    ["tournament_published", "state_changed"] + ["team_registered"] * 8
    + ["state_changed", "round_advanced"] + ["match_result"] * 4 + ["round_advanced"]
    + ["match_result"] * 2 + ["round_advanced", "match_result", "state_changed", "tournament_completed",
                              "state_changed"]
)


def test_a_tournament_runs_from_draft_to_archive_and_viewers_miss_nothing(api, orchestrator, database_url):
    tournament = ok(api.post("/api/v1/tournaments", {"name": "Winter Open", "game": "chess", "max_teams": 8}), 201)
    tid, gateway = tournament["id"], f"/t/{tournament['id']}"
    assert tournament["state"] == "DRAFT" and tournament["endpoint"] is None

    viewer = api.feed(f"/api/v1/events/tournaments/{tid}")  # a draft is its organizer's to watch
    announcements = SSEClient(api.url("/api/v1/events/global"))
    assert viewer.status_code == 200
    assert viewer.headers["Content-Type"].startswith("text/event-stream")
    assert viewer.headers["X-Accel-Buffering"] == "no"

    published = ok(api.post(f"/api/v1/tournaments/{tid}/publish"))
    assert published["state"] == "REGISTRATION" and published["endpoint"] == f"/t/{tid}/"
    pid, host, port = server_of(database_url, tid)
    assert pid_alive(pid)

    teams = [ok(api.post(f"{gateway}/api/teams", {"name": f"Team {n}"}), 201) for n in range(1, 9)]
    assert [t["name"] for t in ok(api.get(f"/api/v1/tournaments/{tid}/teams"))["items"]] == \
        [f"Team {n}" for n in range(1, 9)]

    # A second viewer follows for a while, drops, and resumes with Last-Event-ID.
    resumer = SSEClient(api.url(f"/api/v1/events/tournaments/{tid}"), last_event_id=0)
    first_part = resumer.collect(10)
    resumer.close()

    state = ok(api.post(f"{gateway}/api/start"))
    assert state["state"] == "ACTIVE" and state["round"] == 1
    first_round = ok(api.get(f"{gateway}/api/matches"))["items"]
    seeds = {t["id"]: n for n, t in enumerate(teams, start=1)}
    assert [(seeds[m["team1_id"]], seeds[m["team2_id"]]) for m in first_round] == [(1, 8), (4, 5), (2, 7), (3, 6)]

    play_round(api, tid)
    play_round(api, tid)
    play_round(api, tid)
    final_state = ok(api.get(f"{gateway}/api/state"))
    assert final_state["state"] == "COMPLETED" and final_state["champion"] == teams[0]["id"]
    standings = ok(api.get(f"{gateway}/api/standings"))["items"]
    assert [row["rank"] for row in standings] == [1, 2, 3, 3, 5, 5, 5, 5]
    assert standings[0]["team_id"] == teams[0]["id"]

    # The registry mirrors the state before the viewer hears of it.
    events = viewer.until(lambda e: e["event"] == "tournament_completed")
    assert ok(api.get(f"/api/v1/tournaments/{tid}"))["state"] == "COMPLETED"

    archived = ok(api.post(f"/api/v1/tournaments/{tid}/archive"))
    assert archived["state"] == "ARCHIVED" and archived["endpoint"] is None
    events += viewer.until(lambda e: e["data"].get("to_state") == "ARCHIVED")

    assert [e["event"] for e in events] == EXPECTED_TYPES
    assert [e["id"] for e in events] == list(range(1, len(EXPECTED_TYPES) + 1))
    assert all(e["data"]["seq"] == e["id"] and e["data"]["tournament_id"] == tid for e in events)
    results = [e["data"] for e in events if e["event"] == "match_result"]
    assert all(r["winner"] == r["team1_id"] for r in results)

    missed = SSEClient(api.url(f"/api/v1/events/tournaments/{tid}"), last_event_id=first_part[-1]["id"])
    rest = missed.collect(len(EXPECTED_TYPES) - 10)
    assert [e["id"] for e in first_part + rest] == [e["id"] for e in events]
    assert missed.drain(wait=1.0) == []
    for client in (viewer, missed):
        client.close()

    mine = [e for e in announcements.until(lambda e: e["event"] == "champion_announced"
                                           and e["data"]["tournament_id"] == tid)
            if e["data"].get("tournament_id") == tid]
    assert [e["event"] for e in mine] == ["tournament_announced", "champion_announced"]
    assert mine[1]["data"]["champion_name"] == "Team 1"
    announcements.close()

    assert wait_until(lambda: not pid_alive(pid), timeout=10), "the archived tournament's server still runs"
    assert wait_until(lambda: port_is_free(port), timeout=5)
    # Viewers still read the final result; nobody can change it.
    assert ok(api.get(f"{gateway}/api/standings"))["items"] == standings
    assert ok(api.get(f"{gateway}/api/state"))["state"] == "ARCHIVED"
    assert len(ok(api.get(f"{gateway}/api/matches", params={"status": "completed"}))["items"]) == 7
    final = ok(api.get(f"{gateway}/api/matches", params={"round": 3}))["items"]
    assert [(m["id"], m["status"]) for m in final] == [("r3_match_1", "completed")]
    assert ok(api.get(f"{gateway}/api/matches"))["items"] == []  # nothing left to play, as on the server
    refused = api.post(f"{gateway}/api/teams", {"name": "Late"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "read_only"


def test_cancel_stops_the_server_and_tells_viewers(api, database_url):
    tournament = ok(api.post("/api/v1/tournaments", {"name": "Short Lived", "game": "go"}), 201)
    tid = tournament["id"]
    ok(api.post(f"/api/v1/tournaments/{tid}/publish"))
    pid, _host, port = server_of(database_url, tid)
    viewer = api.feed(f"/api/v1/events/tournaments/{tid}")  # a draft is its organizer's to watch
    cancelled = ok(api.post(f"/api/v1/tournaments/{tid}/cancel"))
    assert cancelled["state"] == "CANCELLED"
    event = viewer.next_event()
    assert event["data"]["from_state"] == "REGISTRATION" and event["data"]["to_state"] == "CANCELLED"
    viewer.close()
    assert wait_until(lambda: not pid_alive(pid)) and wait_until(lambda: port_is_free(port))
    assert ok(api.get(f"/api/v1/tournaments/{tid}/teams")) == {"items": []}
    assert ok(api.get(f"/t/{tid}/api/state"))["state"] == "CANCELLED"
    # Cancelling again is idempotent: the cancelled tournament, and no server comes back.
    assert ok(api.post(f"/api/v1/tournaments/{tid}/cancel"))["state"] == "CANCELLED"
    assert server_of(database_url, tid)[0] is None


def test_a_cancel_recorded_by_the_server_alone_is_finished_by_the_supervisor(api, database_url):
    tid = ok(api.post("/api/v1/tournaments", {"name": "Half Done", "game": "go"}), 201)["id"]
    ok(api.post(f"/api/v1/tournaments/{tid}/publish"))
    ok(api.post(f"/t/{tid}/api/teams", {"name": "Early Birds"}), 201)
    pid, host, port = server_of(database_url, tid)
    # As if the orchestrator died right after its server recorded the cancel.
    identity = sign(GATEWAY_SECRET, tid, "POST", "/api/cancel", api.user, ["organizer"])
    answer = requests.post(f"http://{host}:{port}/api/cancel", headers=identity, timeout=10)
    assert answer.json()["state"] == "CANCELLED"
    # Nobody retries: the registry follows the server's log and the supervisor stops the server,
    # keeping the read-only view first.
    assert wait_until(lambda: not pid_alive(pid), timeout=15)
    assert ok(api.get(f"/api/v1/tournaments/{tid}"))["state"] == "CANCELLED"
    assert [t["name"] for t in ok(api.get(f"/t/{tid}/api/teams"))["items"]] == ["Early Birds"]
    assert ok(api.post(f"/api/v1/tournaments/{tid}/cancel"))["state"] == "CANCELLED"


def test_a_double_elimination_with_options_runs_through_the_orchestrator(api):
    """Format options set on the registry reach the server, and a non-default format plays out."""
    tournament = ok(api.post("/api/v1/tournaments", {"name": "Double Cup", "game": "chess", "max_teams": 4,
                                                     "format": "double_elimination", "grand_final": "single",
                                                     "best_of": 3}), 201)
    tid, gateway = tournament["id"], f"/t/{tournament['id']}"
    assert tournament["grand_final"] == "single" and tournament["confirm_results"] is True
    edited = ok(api.patch(f"/api/v1/tournaments/{tid}", {"final_best_of": 5}))
    assert edited["final_best_of"] == 5 and edited["grand_final"] == "single"
    ok(api.post(f"/api/v1/tournaments/{tid}/publish"))
    for n in range(1, 5):
        ok(api.post(f"{gateway}/api/teams", {"name": f"Team {n}"}), 201)
    ok(api.post(f"{gateway}/api/start"))
    state = ok(api.get(f"{gateway}/api/state"))
    assert state["format"] == "double_elimination"
    assert state["options"]["grand_final"] == "single" and state["options"]["final_best_of"] == 5
    played = 0
    while ok(api.get(f"{gateway}/api/state"))["state"] == "ACTIVE":
        match = ok(api.get(f"{gateway}/api/matches"))["items"][0]
        scores = [3, 0] if match["id"] == "gf_1" else [2, 1]
        ok(api.post(f"{gateway}/api/matches/{match['id']}/result", {"winner": match["team1_id"], "scores": scores}))
        played += 1
    assert played == 6  # 3 winners' bracket + 2 losers' bracket + 1 grand final
    final = ok(api.get(f"{gateway}/api/state"))
    assert final["state"] == "COMPLETED" and final["champion"] == "team_1"
    sections = ok(api.get(f"{gateway}/api/bracket"))["sections"]
    assert {s["bracket"] for s in sections} == {"winners", "losers", "grand_final"}
    ok(api.post(f"/api/v1/tournaments/{tid}/archive"))
    # The archived snapshot still has every match, losers' bracket included.
    completed = ok(api.get(f"{gateway}/api/matches", params={"status": "completed"}))["items"]
    assert len(completed) == 6 and {m["id"] for m in completed} >= {"lb_r1_m1", "lb_r2_m1", "gf_1"}
