"""The parts of the orchestrator's pages that refresh themselves (with JavaScript: htmx over the
page's one stream, see base.html): each fragment renders the very partial its page includes.

- the notification badge in the navigation (`sse:notification`): the logged-in user's
  notifications since they last opened their dashboard (remembered in their session);
- the home page's announcements and tournaments by state (`sse:global`);
- a tournament page's state, summary and organizer's panel (`sse:tournament`).
"""
from flask import render_template, session

from orchestrator import auth
from orchestrator.pages import bp
from orchestrator.pages import tournaments as tournament_pages
from orchestrator.services import overview

# The newest notification seq the user saw on their dashboard (per browser session).
SEEN_KEY = "notifications_seen"
BADGE_CAP = 99


def unseen_notifications():
    """How many notifications the viewer got since they last opened their dashboard (None when
    nobody is logged in)."""
    user = auth.viewer()
    if user is None:
        return None
    return overview.notifications_after(user.id, session.get(SEEN_KEY, 0), BADGE_CAP + 1)


def mark_notifications_seen(notices):
    """The dashboard shows `notices` (newest first): the badge counts from the newest of them."""
    if notices and notices[0]["seq"] > session.get(SEEN_KEY, 0):
        session[SEEN_KEY] = notices[0]["seq"]


@bp.app_context_processor
def badge_globals():
    """`unseen_notifications()` for base.html's badge, computed only where the badge is drawn."""
    return {"unseen_notifications": unseen_notifications, "badge_cap": BADGE_CAP}


def _fragment(html):
    # Always asked again: the answer changes with every event.
    return html, 200, {"Cache-Control": "no-store"}


@bp.get("/fragments/notification-badge")
def notification_badge():
    """The navigation's link to the dashboard with the count of unseen notifications."""
    return _fragment(render_template("_notification_badge.html"))


@bp.get("/fragments/home")
def home_fragment():
    """The home page's live part: the latest announcements and the tournaments by state."""
    return _fragment(render_template("_home_live.html", **tournament_pages.home_context()))


@bp.get("/fragments/tournaments/<tournament_id>")
def tournament_fragment(tournament_id):
    """A tournament page's live part: its state, summary and, for its organizer, the server, the
    teams, the dispute queue and the overdue matches. :raise 404: as the page."""
    return _fragment(render_template("_tournament_live.html", **tournament_pages.detail_context(tournament_id)))


VIEWS = (notification_badge, home_fragment, tournament_fragment)
