"""The organizer's panel with a real dispute, subscribing, the dashboard, the fleet board and the
not-started page, in a real Chromium: each passes axe-core and is screenshotted."""
import sqlalchemy as sa

from shared.db.tables import users
from tests.browser.conftest import check_page
from tests.browser.test_pages_in_a_browser import SCRIPT_NAME, _create, _register_and_log_in


def _api_post(page, path, body=None):
    """A JSON write as this browser's logged-in user (the API's header CSRF rule)."""
    csrf = page.request.get("/api/v1/auth/me").json()["csrf_token"]
    answer = page.request.post(path, data=body or {}, headers={"X-CSRF-Token": csrf})
    assert answer.ok, answer.text()
    return answer.json()


def test_organizer_settles_a_dispute_and_a_follower_subscribes(contexts, db_engine):
    organizer = contexts().page()
    username = _register_and_log_in(organizer)
    _create(organizer, "Dispute Open", **{"Most teams": "2"})
    organizer.get_by_text("The tournament was saved.").wait_for()
    detail_url = organizer.url
    tournament_id = detail_url.rsplit("/", 1)[1]
    organizer.goto(f"/t/{tournament_id}/")
    organizer.get_by_role("heading", name="This tournament has not been published yet").wait_for()
    check_page(organizer, "tournament-not-started")
    organizer.goto(detail_url)
    organizer.get_by_role("button", name="Publish").click()
    organizer.get_by_text("The tournament was published.").wait_for()

    captains = []
    for team in (SCRIPT_NAME, "Blue"):
        captain = contexts().page()
        _register_and_log_in(captain)
        captains.append((captain, _api_post(captain, f"/t/{tournament_id}/api/teams", {"name": team})["id"]))
    follower = captains[0][0]
    follower.goto(detail_url)
    follower.get_by_role("button", name="Subscribe").click()
    follower.get_by_role("button", name="Unsubscribe").wait_for()
    assert follower.get_by_role("heading", name="Dispute queue").count() == 0
    check_page(follower, "tournament-detail-follower")
    follower.get_by_role("link", name="Dashboard").click()
    follower.get_by_role("link", name="Dispute Open").first.wait_for()
    check_page(follower, "dashboard")

    _api_post(organizer, f"/t/{tournament_id}/api/start")
    match_id = organizer.request.get(f"/t/{tournament_id}/api/matches").json()["items"][0]["id"]
    for captain, team_id in captains:
        _api_post(captain, f"/t/{tournament_id}/api/matches/{match_id}/result", {"winner": team_id})
    organizer.goto(detail_url)
    organizer.get_by_role("heading", name="Dispute queue").wait_for()
    assert organizer.get_by_text(f"{SCRIPT_NAME} says").count() == 1  # the name shows as text
    check_page(organizer, "tournament-detail-dispute")
    organizer.get_by_label("Blue won").check()
    organizer.get_by_role("button", name="Decide the result").click()
    organizer.get_by_text(f"The result of {match_id} is decided.").wait_for()

    with db_engine.begin() as conn:
        conn.execute(sa.update(users).where(users.c.username_key == username.lower()).values(is_admin=True))
    organizer.reload()  # the nav asks who is logged in on each page
    organizer.get_by_role("link", name="Fleet").click()
    organizer.get_by_role("link", name="Dispute Open").wait_for()
    check_page(organizer, "fleet")
