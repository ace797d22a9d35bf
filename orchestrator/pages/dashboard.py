"""A person's own page (their tournaments, teams, subscriptions, notifications) and the admins'
fleet board."""
from flask import current_app, render_template

from orchestrator import auth
from orchestrator.models import Tournament
from orchestrator.extensions import db
from orchestrator.pages import bp, live
from orchestrator.pages.accounts import login_required
from orchestrator.pages.manage import uptime
from orchestrator.services import fleet, overview, subscriptions
from shared.errors import APIError


def _names(tournament_ids):
    """{tournament id: its name} for links that read better than ids."""
    if not tournament_ids:
        return {}
    return dict(db.session.query(Tournament.id, Tournament.name).filter(Tournament.id.in_(tournament_ids)))


@bp.get("/dashboard")
@login_required
def dashboard():
    user = auth.viewer()
    followed = subscriptions.list_subscriptions(user.id)
    teams = overview.captained_teams(user.id)
    names = _names({s.tournament_id for s in followed} | {t["tournament_id"] for t in teams})
    notices = overview.recent_notifications(user.id)
    live.mark_notifications_seen(notices)  # the badge counts from here
    return render_template("dashboard.html", organized=overview.organized_tournaments(user.id), teams=teams,
                           followed=followed, names=names, notices=notices)


@bp.get("/fleet")
@login_required
def fleet_board():
    """Every tournament server at a glance: admins only (others get the 403 page)."""
    user = auth.viewer()
    if not user.is_admin:
        raise APIError(403, "forbidden", "The fleet board is for admins.")
    rows = fleet.fleet(user)
    names = _names({row["tournament_id"] for row in rows})
    for row in rows:
        row["uptime"], row["name"] = uptime(row["status"], row["started_at"]), names.get(row["tournament_id"])
    supervisor = current_app.extensions.get("supervisor")
    counts = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return render_template("fleet.html", rows=rows, counts=counts,
                           supervisor={"holder": supervisor.holder, "leader": supervisor.is_leader} if supervisor else None)

