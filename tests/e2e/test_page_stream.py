"""/api/v1/events/page: one stream per page, against a real orchestrator and tournament server."""
from tests.support.api import make_tournament, ok


def test_a_page_hears_its_tournament_the_global_feed_and_its_users_notifications(api):
    organizer = api.login("page_viewer")
    tournament = make_tournament(organizer, state="REGISTRATION", teams=2, max_teams=4)
    elsewhere = make_tournament(organizer, state="REGISTRATION", teams=0)
    stream = organizer.feed(f"/api/v1/events/page?tournament={tournament['id']}&global=1")
    assert stream.status_code == 200 and stream.headers["Content-Type"].startswith("text/event-stream")

    ok(organizer.post(f"/t/{elsewhere['id']}/api/teams", {"name": "Not on this page"}), 201)
    ok(organizer.post(f"/t/{tournament['id']}/api/teams", {"name": "Late Comers"}), 201)
    heard = stream.next_event()
    # Small frames that name what changed, no ids (a page refetches; it never replays).
    assert heard == {"id": None, "event": "tournament", "data": {"seq": 5, "type": "team_registered"}}

    make_tournament(organizer, state="REGISTRATION", teams=0, name="Next Cup")
    stream.until(lambda e: e["event"] == "global" and e["data"]["type"] == "tournament_announced")
    ok(organizer.post("/api/v1/subscriptions", {"tournament_id": tournament["id"]}), 201)
    ok(organizer.post(f"/t/{tournament['id']}/api/start"))  # subscribers hear of the start
    seen = stream.until(lambda e: e["event"] == "notification")
    assert seen[-1]["data"]["type"] == "tournament_starting"
    assert {"event": "tournament", "type": "state_changed"} in [
        {"event": e["event"], "type": e["data"]["type"]} for e in seen]
    stream.close()


def test_a_page_stream_refuses_what_its_viewer_may_not_see(api):
    organizer = api.login("page_owner")
    draft = make_tournament(organizer)
    anonymous = api.anonymous()
    assert anonymous.get(f"/api/v1/events/page?tournament={draft['id']}").status_code == 404
    assert anonymous.get("/api/v1/events/page?tournament=t_nosuchone").status_code == 404
    refused = anonymous.get("/api/v1/events/page?global=yes")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_input"
    # Anonymous: the global feed only, never anybody's notifications.
    stream = anonymous.feed("/api/v1/events/page?global=1")
    ok(organizer.post(f"/api/v1/tournaments/{draft['id']}/publish"))
    assert stream.next_event()["event"] == "global"
    ok(organizer.post(f"/t/{draft['id']}/api/teams", {"name": "One"}), 201)
    ok(organizer.post(f"/t/{draft['id']}/api/teams", {"name": "Two"}), 201)
    ok(organizer.post(f"/t/{draft['id']}/api/start"))
    assert {e["event"] for e in stream.drain(wait=1.5)} <= {"global"}  # no tournament, no notification
    stream.close()
