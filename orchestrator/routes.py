"""Where the gateway sends a tournament's requests, kept in memory for a moment.

Each request through `/t/<id>/...` needs the tournament's state, organizer and server address:
read from the registry every time, that was one database round trip (plus a connection's check
and rollback for an anonymous reader) per request. Only tournaments whose server is routed to
are kept, each for at most `ROUTE_CACHE_SECONDS`:

- an address changed by this process (the supervisor's restart, adoption, a stop: any ORM write of
  `tournaments.endpoint`) forgets the entry at once;
- an address changed by another process (a second worker or replica leads the supervisor) is
  noticed when the kept address no longer takes connections: the gateway forgets it, reads the
  registry again and sends the request once more (a refused connection sent nothing, so a write
  is never sent twice); otherwise it is used until it expires. A read whose connection closed
  before an answer (its server stopping) goes once more too, kept address or not (gateway.py);
- drafts, ended tournaments and tournaments without a server are never kept: publishing, ending
  and outages are read from the registry as before.
"""
import threading
import time
import weakref
from dataclasses import dataclass

import sqlalchemy as sa

from orchestrator.models import Tournament
from orchestrator.services import registry


@dataclass(frozen=True)
class Route:
    """What the gateway needs of a tournament with a server: who may ask as what, and where."""

    id: str
    state: str
    organizer_id: int
    endpoint: str
    final_snapshot = None  # a tournament with a server answers its reads itself


class RouteCache:
    """Routes of tournaments with a server, for up to `max_age` seconds each (0: none kept)."""

    def __init__(self, max_age, clock=time.monotonic):
        self.max_age = max_age
        self.clock = clock
        self._routes = {}  # tournament id -> (Route, kept until)
        self._lock = threading.Lock()
        _caches.add(self)

    def visible(self, tournament_id, viewer):
        """(the tournament or its kept Route, whether it was kept) as `viewer` may see it.

        :raise 404: unknown, or someone else's draft (registry.get_visible_tournament).
        """
        kept = self._routes.get(tournament_id)
        if kept is not None and self.clock() < kept[1]:
            registry.require_visible(tournament_id, kept[0].state, kept[0].organizer_id, viewer)
            return kept[0], True
        tournament = registry.get_visible_tournament(tournament_id, viewer)
        if tournament.endpoint and self.max_age > 0:
            route = Route(tournament.id, tournament.state, tournament.organizer_id, tournament.endpoint)
            with self._lock:
                self._routes[tournament_id] = (route, self.clock() + self.max_age)
        return tournament, False

    def forget(self, tournament_id):
        with self._lock:
            self._routes.pop(tournament_id, None)


# Every cache of this process (one per app; tests make many), told of each endpoint write.
_caches = weakref.WeakSet()


@sa.event.listens_for(Tournament.endpoint, "set")
def _forget_on_endpoint_write(target, value, oldvalue, _initiator):
    """This process moved or stopped routing to a tournament's server (fleet.py, registry.py)."""
    if value != oldvalue:
        for cache in list(_caches):
            cache.forget(target.id)
