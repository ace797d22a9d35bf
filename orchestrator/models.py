"""ORM mapping of the orchestrator's tables (their definitions live in shared.db.tables)."""
import json

import sqlalchemy as sa
from flask_login import UserMixin

from orchestrator.extensions import db
from shared import formats
from shared.db.tables import api_tokens, subscriptions, tournament_events, tournament_servers, tournaments, users
from shared.events import TOURNAMENT_COMPLETED
from shared.state_machine import ARCHIVED, COMPLETED


class User(UserMixin, db.Model):
    """An account: organizer of the tournaments it created, captain of the teams it registered."""

    __table__ = users

    def to_dict(self):
        return {"id": self.id, "username": self.username, "is_admin": self.is_admin,
                "created_at": _iso(self.created_at)}


class ApiToken(db.Model):
    """A Bearer token for API clients; only its hash is stored."""

    __table__ = api_tokens

    def to_dict(self):
        return {"id": self.id, "name": self.name, "created_at": _iso(self.created_at),
                "expires_at": _iso(self.expires_at), "revoked": self.revoked_at is not None}


class TournamentServer(db.Model):
    """The supervisor's record of one tournament's server process."""

    __table__ = tournament_servers

    def to_dict(self):
        return {
            "tournament_id": self.tournament_id, "status": self.status, "pid": self.pid,
            "host": self.host, "port": self.port, "started_at": _iso(self.started_at),
            "restarts": self.restarts, "last_check_at": _iso(self.last_check_at),
            "last_check_ok": self.last_check_ok, "last_error": self.last_error,
        }


class Subscription(db.Model):
    """A user following a tournament."""

    __table__ = subscriptions

    def to_dict(self):
        return {"tournament_id": self.tournament_id, "created_at": _iso(self.created_at)}


class Tournament(db.Model):
    """A tournament in the registry: its configuration, mirrored state and server endpoint."""

    __table__ = tournaments

    def format_options(self):
        """Every option of its format: the ones the organizer set, defaults for the rest."""
        return formats.with_defaults(self.format, json.loads(self.options or "{}"))

    def to_dict(self):
        return {
            "id": self.id, "name": self.name, "game": self.game, "format": self.format,
            "max_teams": self.max_teams, "min_teams": self.min_teams, "best_of": self.best_of,
            "description": self.description,
            **self.format_options(),
            "starts_at": _iso(self.starts_at), "state": self.state, "organizer": self.organizer_id,
            "created_at": _iso(self.created_at), "updated_at": _iso(self.updated_at),
            # The public way in is the gateway; the server's own host:port stays private.
            "endpoint": f"/t/{self.id}/" if self.endpoint else None,
            "champion": self.champion(),
        }

    def champion(self):
        """{team_id, name} as the tournament's own log recorded it at completion; None before."""
        if self.state not in (COMPLETED, ARCHIVED):
            return None
        # The last event of a long log is near the end of its (tournament_id, seq) index: read backwards.
        completed = db.session.execute(
            sa.select(tournament_events.c.payload)
            .where(tournament_events.c.tournament_id == self.id, tournament_events.c.type == TOURNAMENT_COMPLETED)
            .order_by(tournament_events.c.seq.desc()).limit(1)).scalar()
        event = json.loads(completed) if completed else {}
        if not event.get("champion"):
            return None
        return {"team_id": event["champion"], "name": event.get("champion_name")}


def _iso(moment):
    if moment is None:
        return None
    text = moment.isoformat()
    return text.replace("+00:00", "Z") if moment.tzinfo else text + "Z"
