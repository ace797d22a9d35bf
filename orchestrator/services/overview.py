"""Read-only views across the platform for the pages: a user's tournaments, teams and
notifications, and when each match of a tournament became playable (derived from its log)."""
import json
from datetime import datetime, timezone

import sqlalchemy as sa

from orchestrator.extensions import db
from orchestrator.models import Tournament
from shared import events
from shared import state_machine as sm
from shared.db.tables import announcements, notifications, tournament_events

OPEN_STATUSES = ("pending", "reported", "disputed")


def published_counts():
    """{state: how many tournaments are in it}, drafts left out (a draft is its organizer's alone)."""
    rows = db.session.execute(sa.select(Tournament.state, sa.func.count()).where(Tournament.state != sm.DRAFT)
                              .group_by(Tournament.state))
    return dict(rows.all())


def organized_tournaments(user_id, limit=100):
    """The tournaments `user_id` organizes, newest first."""
    return db.session.execute(sa.select(Tournament).where(Tournament.organizer_id == user_id)
                              .order_by(Tournament.created_at.desc(), Tournament.id).limit(limit)).scalars().all()


def captained_teams(user_id, limit=100):
    """[{tournament_id, team}] of the teams `user_id` captains and that are still registered.

    Teams live only in each tournament's log, so this reads `team_registered` events whose text
    names the captain (a scan of that event type, no index) and drops those unregistered since.
    """
    table = tournament_events.c
    wanted = sa.or_(table.payload.like(f'%"captain":{int(user_id)},%'), table.payload.like(f'%"captain":{int(user_id)}}}%'))
    rows = db.session.execute(sa.select(table.tournament_id, table.payload)
                              .where(table.type == events.TEAM_REGISTERED, wanted)
                              .order_by(table.created_at.desc()).limit(limit)).all()
    teams = [(tid, json.loads(payload)["team"]) for tid, payload in rows]
    teams = [(tid, team) for tid, team in teams if team.get("captain") == user_id]
    if not teams:
        return []
    gone = db.session.execute(sa.select(table.tournament_id, table.payload).where(
        table.type == events.TEAM_UNREGISTERED, table.tournament_id.in_({tid for tid, _ in teams}))).all()
    gone = {(tid, json.loads(payload)["team_id"]) for tid, payload in gone}
    return [{"tournament_id": tid, "team": team} for tid, team in teams if (tid, team["id"]) not in gone]


def recent_notifications(user_id, limit=50):
    """The user's notifications, newest first: [{seq, type, tournament_id, event, created_at}]."""
    table = notifications.c
    rows = db.session.execute(sa.select(table.seq, table.type, table.tournament_id, table.payload, table.created_at)
                              .where(table.user_id == user_id).order_by(table.seq.desc()).limit(limit)).all()
    return [{"seq": seq, "type": kind, "tournament_id": tid, "event": json.loads(payload), "created_at": at}
            for seq, kind, tid, payload, at in rows]


def notifications_after(user_id, seq, limit):
    """How many of the user's notifications came after `seq`, counted up to `limit` (an index range
    scan of at most `limit` rows: the badge shows "99+" past that)."""
    table = notifications.c
    newer = sa.select(table.seq).where(table.user_id == user_id, table.seq > seq).limit(limit).subquery()
    return db.session.execute(sa.select(sa.func.count()).select_from(newer)).scalar()


def recent_announcements(limit=10):
    """The global feed's newest announcements, newest first: [{seq, type, tournament_id, event}]."""
    table = announcements.c
    rows = db.session.execute(sa.select(table.seq, table.type, table.tournament_id, table.payload)
                              .order_by(table.seq.desc()).limit(limit)).all()
    return [{"seq": seq, "type": kind, "tournament_id": tid, "event": json.loads(payload)}
            for seq, kind, tid, payload in rows]


def _playable(match):
    return match.get("status") in OPEN_STATUSES and bool(match.get("team1_id")) and bool(match.get("team2_id"))


def playable_since(tournament_id):
    """{match id: the time it became playable}, for the matches still open and playable.

    Matches carry no such time; every event that changes matches carries them (`matches`) and its
    own timestamp, so the log is folded: a match counts from the first event showing it playable.
    """
    since = {}
    table = tournament_events.c
    rows = db.session.execute(sa.select(table.payload).where(
        table.tournament_id == tournament_id, table.payload.like('%"matches":[%')).order_by(table.seq))
    for (payload,) in rows:
        event = json.loads(payload)
        for match in event.get("matches") or ():
            if not isinstance(match, dict) or "id" not in match:
                continue
            if _playable(match):
                since.setdefault(match["id"], _parse(event["timestamp"]))
            else:
                since.pop(match["id"], None)
    return since


def _parse(stamp):
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def overdue_matches(matches, since, minutes, now=None):
    """The playable `matches` still without a final result `minutes` after they became playable,
    longest waiting first, each with `waiting_minutes`."""
    now = now or datetime.now(timezone.utc)
    late = []
    for match in matches:
        start = since.get(match["id"])
        if start is not None and (now - start).total_seconds() >= minutes * 60:
            late.append(dict(match, waiting_minutes=int((now - start).total_seconds() // 60)))
    return sorted(late, key=lambda m: -m["waiting_minutes"])
