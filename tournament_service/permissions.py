"""Who may do what in one tournament, given the identity the gateway vouched for."""
from dataclasses import dataclass

from tournament_service.tournament import DomainError


@dataclass(frozen=True)
class Actor:
    """The caller of a command: a user (or nobody) and whether they organize this tournament."""

    user_id: int = None
    username: str = None
    is_organizer: bool = False

    @classmethod
    def from_claims(cls, claims):
        return cls(claims.get("uid"), claims.get("un"), "organizer" in (claims.get("roles") or ()))


ANONYMOUS = Actor()
# A registration that names no captain (as opposed to naming nobody: null).
NOT_NAMED = object()


def require_user(actor):
    if actor.user_id is None:
        raise DomainError(401, "unauthorized", "Log in first.")


def require_organizer(actor, action):
    require_user(actor)
    if not actor.is_organizer:
        raise DomainError(403, "forbidden", f"Only the organizer can {action.replace('_', ' ')}.")


def require_captain_or_organizer(actor, teams, action):
    """The actor organizes the tournament or captains one of `teams` (team dicts)."""
    require_user(actor)
    if actor.is_organizer or any(team and team.get("captain") == actor.user_id for team in teams):
        return
    raise DomainError(403, "forbidden", f"Only the organizer or the team's captain can {action.replace('_', ' ')}.")


def captain_of_new_team(actor, named=NOT_NAMED):
    """Who captains a team `actor` registers: the user who registers it; for the organizer entering
    a team for others, the user they name (an id) or nobody (null, or not naming one).

    :raise 401: anonymous. :raise 403: anyone else naming a captain other than themselves.
    """
    require_user(actor)
    if actor.is_organizer:
        return None if named is NOT_NAMED else named
    if named is not NOT_NAMED and named != actor.user_id:
        raise DomainError(403, "forbidden", "Only the organizer can name another user as a team's captain.")
    return actor.user_id
