"""ORM mapping of the orchestrator's tables (their definitions live in shared.db.tables)."""
from orchestrator.extensions import db
from shared.db.tables import tournaments


class Tournament(db.Model):
    """A tournament in the registry: its configuration, mirrored state and server endpoint."""

    __table__ = tournaments

    def to_dict(self):
        return {
            "id": self.id, "name": self.name, "game": self.game, "format": self.format,
            "max_teams": self.max_teams, "min_teams": self.min_teams, "best_of": self.best_of,
            "description": self.description,
            "starts_at": _iso(self.starts_at), "state": self.state, "organizer": self.organizer_id,
            "created_at": _iso(self.created_at), "updated_at": _iso(self.updated_at),
            # The public way in is the gateway; the server's own host:port stays private.
            "endpoint": f"/t/{self.id}/" if self.endpoint else None,
        }


def _iso(moment):
    if moment is None:
        return None
    text = moment.isoformat()
    return text.replace("+00:00", "Z") if moment.tzinfo else text + "Z"
