"""Each user hears what concerns them, and only that: reminders, match_ready, match_result."""
import uuid
from datetime import datetime, timedelta, timezone

from tests.support.api import ok


def names():
    tag = uuid.uuid4().hex[:6]
    return {role: f"{role}-{tag}" for role in ("captain-a", "captain-b", "subscriber", "bystander")}


def test_captains_and_subscribers_get_their_notifications_and_no_one_elses(api):
    users = {role: api.as_user(name) for role, name in names().items()}
    captain_a, captain_b, subscriber, bystander = (users[r] for r in ("captain-a", "captain-b", "subscriber", "bystander"))
    # Due 5 minutes before starts_at, i.e. about 4 s after publishing.
    starts_at = (datetime.now(timezone.utc) + timedelta(minutes=5, seconds=4)).isoformat()
    tournament = ok(api.post("/api/v1/tournaments", {"name": "Notify Cup", "game": "go", "max_teams": 2,
                                                     "starts_at": starts_at}), 201)
    tid = tournament["id"]
    feeds = {role: user.feed(f"/api/v1/events/user/{user.user['id']}") for role, user in users.items()}
    assert all(feed.status_code == 200 for feed in feeds.values())
    ok(api.post(f"/api/v1/tournaments/{tid}/publish"))
    # Published, it can be followed (a draft is its organizer's alone).
    assert ok(subscriber.post("/api/v1/subscriptions", {"tournament_id": tid}), 201)["tournament_id"] == tid
    assert ok(subscriber.post("/api/v1/subscriptions", {"tournament_id": tid}), 200)  # twice is fine
    assert [s["tournament_id"] for s in ok(subscriber.get("/api/v1/subscriptions"))["items"]] == [tid]
    team_a = ok(captain_a.post(f"/t/{tid}/api/teams", {"name": "Alpha"}), 201)
    team_b = ok(captain_b.post(f"/t/{tid}/api/teams", {"name": "Bravo"}), 201)
    assert team_a["captain"] == captain_a.user["id"] and team_b["captain"] == captain_b.user["id"]

    for role in ("subscriber", "captain-a", "captain-b"):
        reminder = feeds[role].next_event(timeout=15)
        assert reminder["event"] == "tournament_starting" and reminder["data"]["starts_in_minutes"] == 5

    ok(api.post(f"/t/{tid}/api/start"))
    assert feeds["subscriber"].next_event()["data"]["starts_in_minutes"] == 0
    for role, mine, opponent in (("captain-a", team_a, team_b), ("captain-b", team_b, team_a)):
        starting, ready = feeds[role].collect(2)
        assert starting["event"] == "tournament_starting" and starting["data"]["starts_in_minutes"] == 0
        assert ready["event"] == "match_ready"
        assert ready["data"]["team_id"] == mine["id"] and ready["data"]["opponent"] == opponent["name"]
        assert ready["data"]["match_id"] == "r1_match_1"

    # A captain's report asks the opponent to confirm; the confirmation makes it the result.
    reported = ok(captain_a.post(f"/t/{tid}/api/matches/r1_match_1/result", {"winner": team_a["id"]}))
    assert reported["status"] == "reported"
    asked = feeds["captain-b"].next_event()
    assert asked["event"] == "match_reported" and asked["data"]["reported_by"] == team_a["id"]
    assert asked["data"]["winner"] == team_a["id"]
    assert feeds["captain-a"].drain(wait=0.5) == []
    confirmed = ok(captain_b.post(f"/t/{tid}/api/matches/r1_match_1/result", {"winner": team_a["id"]}))
    assert confirmed["status"] == "completed"
    result_a, result_b = feeds["captain-a"].next_event(), feeds["captain-b"].next_event()
    assert (result_a["event"], result_a["data"]["won"]) == ("match_result", True)
    assert (result_b["event"], result_b["data"]["won"]) == ("match_result", False)

    assert feeds["bystander"].drain(wait=1.0) == []
    assert feeds["subscriber"].drain(wait=0.2) == []
    for feed in feeds.values():
        feed.close()

    # Replayable like every feed: the ids are the user's own sequence.
    again = captain_a.feed(f"/api/v1/events/user/{captain_a.user['id']}", last_event_id=0)
    assert [e["id"] for e in again.collect(4)] == [1, 2, 3, 4]
    again.close()


def test_a_notification_feed_is_its_users_alone(api):
    other = api.as_user(f"other-{uuid.uuid4().hex[:6]}")
    mine = f"/api/v1/events/user/{api.user['id']}"
    refused = other.feed(mine)
    assert refused.status_code == 403 and refused.response.json()["error"]["code"] == "forbidden"
    assert api.anonymous().feed(mine).status_code == 401
    assert api.anonymous().post("/api/v1/subscriptions", {"tournament_id": "t_0000000000"}).status_code == 401
    assert other.post("/api/v1/subscriptions", {"tournament_id": "t_0000000000"}).status_code == 404
    assert other.delete("/api/v1/subscriptions/t_0000000000").status_code == 404
