"""A tournament's page beyond its summary: for its organizer the server, the teams, the dispute
queue and the overdue matches; for others subscribe and unsubscribe. Every write goes through the
same service (or the same signed server command) as the API."""
from datetime import datetime, timezone

from flask import current_app, flash, redirect, request, url_for

from orchestrator import auth
from orchestrator.pages import bp
from orchestrator.pages.accounts import login_required
from orchestrator.services import fleet, overview, server_client, subscriptions
from orchestrator.services.fleet import as_utc
from shared import state_machine as sm
from shared.errors import APIError

OVERDUE_MINUTES = 15
# A page waits this long for the tournament's server, not the API's 10 s: it says "not answering" instead.
READ_TIMEOUT = 3


def _from_server(tournament, path):
    """(the server's answer to GET `path`, None) or (None, why it can't be shown)."""
    if tournament.state not in sm.SERVED_STATES:
        return None, f"The tournament is {tournament.state}: it has no server to ask."
    if not tournament.endpoint:
        return None, "The tournament's server is not answering right now."
    try:
        return server_client.query(tournament.endpoint, tournament.id, path, timeout=READ_TIMEOUT), None
    except APIError as exc:
        return None, exc.message


def server_status(tournament):
    """The server's record as GET /api/v1/servers shows it, with its uptime in words (None: no server)."""
    row = fleet.server_row(tournament.id)
    if row is None:
        return None
    return dict(row.to_dict(), uptime=uptime(row.status, row.started_at))


def uptime(status, started_at):
    """How long a running server has been up, in words; None when it is not running."""
    if started_at is None or status not in (fleet.RUNNING, fleet.UNHEALTHY):
        return None
    if isinstance(started_at, str):
        started_at = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    delta = datetime.now(timezone.utc) - as_utc(started_at)
    minutes = int(delta.total_seconds() // 60)
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    return " ".join(f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min")) if n) or "under a minute"


def management(tournament):
    """Everything the organizer's part of the page shows."""
    teams, teams_problem = _from_server(tournament, "/api/teams")
    matches, matches_problem = ({"items": []}, None) if tournament.state != sm.ACTIVE else \
        _from_server(tournament, "/api/matches")
    current = (matches or {}).get("items", [])
    names = {team["id"]: team["name"] for team in (teams or {}).get("items", [])}
    minutes = current_app.config.get("PAGES_OVERDUE_MINUTES", OVERDUE_MINUTES)
    return {
        "server": server_status(tournament),
        "teams": (teams or {}).get("items"), "teams_problem": teams_problem,
        "disputes": [m for m in current if m["status"] == "disputed"],
        "overdue": overview.overdue_matches(current, overview.playable_since(tournament.id), minutes) if current else [],
        "overdue_minutes": minutes, "matches_problem": matches_problem, "team_names": names,
        "active": tournament.state == sm.ACTIVE,
    }


def _back(tournament_id):
    return redirect(url_for("pages.tournament_detail", tournament_id=tournament_id))


def _organizers_tournament(tournament_id):
    tournament = auth.visible_tournament(tournament_id)
    auth.require_organizer(tournament)
    return tournament


@bp.post("/tournaments/<tournament_id>/restart")
@login_required
def restart_server(tournament_id):
    """The restart button: the same checks and service as POST /api/v1/servers/<id>/restart."""
    tournament = _organizers_tournament(tournament_id)
    if tournament.state not in sm.SERVED_STATES:
        flash(f"The tournament is {tournament.state}: it has no server to restart.", "error")
    elif fleet.server_row(tournament_id) is None:
        flash("The tournament has no server yet.", "error")
    else:
        try:
            fleet.allow_restart(tournament_id)
            flash("The server will be started again in a moment.", "success")
        except APIError as exc:
            flash(exc.message, "error")
    return _back(tournament_id)


def _score(name):
    raw = request.form.get(name, "").strip()
    return int(raw) if raw.isdigit() and len(raw) <= 4 else None


@bp.post("/tournaments/<tournament_id>/matches/<match_id>/decide")
@login_required
def decide_match(tournament_id, match_id):
    """The organizer's final result of a disputed match, sent to the tournament's server signed as
    the organizer, exactly as a JSON client's result through the gateway."""
    tournament = _organizers_tournament(tournament_id)
    path = f"/api/matches/{match_id}/result"
    body = {"winner": request.form.get("winner") or None}
    scores = (_score("score1"), _score("score2"))
    if None not in scores:
        body["scores"] = list(scores)
    elif any(request.form.get(name, "").strip() for name in ("score1", "score2")):
        flash("Give both scores as whole numbers, or neither.", "error")
        return _back(tournament_id)
    if not tournament.endpoint:
        flash("The tournament's server is not answering right now; try again in a moment.", "error")
        return _back(tournament_id)
    try:
        server_client.command(tournament.endpoint, tournament_id, path,
                              auth.identity_headers(tournament, "POST", path), body)
        flash(f"The result of {match_id} is decided.", "success")
    except APIError as exc:
        if exc.status in (401, 403):
            raise
        flash(exc.message, "error")
    return _back(tournament_id)


@bp.post("/tournaments/<tournament_id>/<any(subscribe, unsubscribe):action>")
@login_required
def subscription(tournament_id, action):
    """Follow or stop following a tournament (services/subscriptions.py, as the API)."""
    user = auth.viewer()
    if action == "subscribe":
        subscriptions.subscribe(user, tournament_id)
        flash("You follow this tournament: you will be told before it starts.", "success")
    else:
        auth.visible_tournament(tournament_id)
        try:
            subscriptions.unsubscribe(user.id, tournament_id)
            flash("You no longer follow this tournament.", "success")
        except APIError as exc:
            flash(exc.message, "error")
    return _back(tournament_id)


def is_subscribed(user, tournament_id):
    return bool(user) and any(s.tournament_id == tournament_id for s in subscriptions.list_subscriptions(user.id))
