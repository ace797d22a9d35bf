"""The tournament registry: create, edit, list and move tournaments through their lifecycle."""
import base64
import binascii
import json
import logging
import secrets
import time
from datetime import datetime, timezone

import sqlalchemy as sa

from orchestrator.extensions import db
from orchestrator.models import Tournament
from orchestrator.services import fleet, server_client, snapshots
from orchestrator.spawners import SpawnError
from shared import events, formats
from shared import state_machine as sm
from shared.db.tables import announcements, chat_messages, notifications, tournament_events, tournaments
from shared.errors import APIError
from shared.validation import is_identifier, moment

log = logging.getLogger(__name__)

FORMATS = formats.FORMATS

# A mirror only ever moves forward: a late state_changed must not undo a cancel or an archive.
_STATE_RANK = {sm.DRAFT: 0, sm.REGISTRATION: 1, sm.ACTIVE: 2, sm.COMPLETED: 3, sm.ARCHIVED: 4, sm.CANCELLED: 4}


_ENDS_IN = {"cancel": sm.CANCELLED, "archive": sm.ARCHIVED}


def _now():
    return datetime.now(timezone.utc)


def get_tournament(tournament_id, lock=False):
    """The registry entry.

    :raise 404: for an unknown id.
    """
    if not is_identifier(tournament_id):
        raise APIError(404, "tournament_not_found", "No such tournament.")
    query = sa.select(Tournament).where(Tournament.id == tournament_id)
    if lock:
        query = query.with_for_update()
    tournament = db.session.execute(query).scalar_one_or_none()
    if tournament is None:
        raise APIError(404, "tournament_not_found", f"No tournament {tournament_id!r}.")
    return tournament


def _sees_drafts_of(viewer, organizer_id):
    return viewer is not None and (viewer.is_admin or viewer.id == organizer_id)


def get_visible_tournament(tournament_id, viewer):
    """The registry entry as `viewer` (a user, or None) may see it: a DRAFT is its organizer's and
    the admins' only.

    :raise 404: for an unknown id and for someone else's draft alike.
    """
    tournament = get_tournament(tournament_id)
    require_visible(tournament_id, tournament.state, tournament.organizer_id, viewer)
    return tournament


def check_visible(tournament_id, viewer, reads, engine):
    """What get_visible_tournament checks, for a crowd of viewers opening a tournament's feeds at
    once: its state and organizer read once (shared/crowd.SharedReads `reads`) for all of them,
    on `engine` outside any session (and any app context: anonymous feed requests are answered
    below Flask, orchestrator/anonymous_feeds.py).

    :raise 404: for an unknown id and for someone else's draft alike.
    """
    if not is_identifier(tournament_id):
        raise APIError(404, "tournament_not_found", "No such tournament.")

    def state_and_organizer():
        with engine.connect() as conn:
            return conn.execute(sa.select(tournaments.c.state, tournaments.c.organizer_id)
                                .where(tournaments.c.id == tournament_id)).first()
    row = reads.read(("visibility", tournament_id), state_and_organizer)
    if row is None:
        raise APIError(404, "tournament_not_found", f"No tournament {tournament_id!r}.")
    require_visible(tournament_id, row.state, row.organizer_id, viewer)


def require_visible(tournament_id, state, organizer_id, viewer):
    """:raise 404: when `viewer` may not see a tournament in `state` organized by `organizer_id`."""
    if state == sm.DRAFT and not _sees_drafts_of(viewer, organizer_id):
        raise APIError(404, "tournament_not_found", f"No tournament {tournament_id!r}.")


def _check_configuration(fields, options):
    """:raise 400: naming every field that doesn't fit the rest of the configuration."""
    problems = {}
    if fields["min_teams"] > fields["max_teams"]:
        problems["min_teams"] = "must not exceed max_teams"
    problems.update(formats.misplaced_options(fields["format"], options))
    problems.update(formats.group_problems(fields["format"], (fields["min_teams"], fields["max_teams"]), options))
    if problems:
        raise APIError(400, "invalid_input", "The request has invalid fields.", problems)


def _split_options(fields):
    """(registry fields, format options) of a validated body; an option given as null stays in
    the options, as "back to the default"."""
    values = dict(fields)
    return values, {key: values.pop(key) for key in list(values) if key in formats.OPTIONS}


def _set_only(options):
    return {key: value for key, value in options.items() if value is not None}


def create_tournament(fields, organizer_id=None):
    """A new DRAFT tournament from validated `fields` (format options among them)."""
    values, options = _split_options({"format": formats.SINGLE_ELIMINATION, "max_teams": 16, "min_teams": 2,
                                      "best_of": 1, "description": "", "starts_at": None, **fields})
    options = _set_only(options)
    _check_configuration(values, options)
    now = _now()
    tournament = Tournament(id="t_" + secrets.token_hex(5), state=sm.DRAFT, organizer_id=organizer_id,
                            created_at=now, updated_at=now, options=json.dumps(options), **values)
    db.session.add(tournament)
    db.session.commit()
    return tournament


def update_tournament(tournament_id, fields):
    """Edit a DRAFT tournament; options given as null go back to their defaults.

    :raise 409: in any other state. :raise 400: when the result doesn't fit together (an option
    of another format, min_teams above max_teams, ...).
    """
    tournament = get_tournament(tournament_id, lock=True)
    sm.check("edit", tournament.state)
    values, changed_options = _split_options(fields)
    merged = {key: getattr(tournament, key) for key in ("format", "max_teams", "min_teams")}
    merged.update((k, v) for k, v in values.items() if k in merged)
    options = json.loads(tournament.options or "{}")
    options = _set_only({**options, **changed_options})
    if values.get("format", tournament.format) != tournament.format:
        # Options of the old format that the new one doesn't take are dropped, not refused.
        options = {key: value for key, value in options.items()
                   if merged["format"] in formats.OPTIONS[key].formats or key in changed_options}
    _check_configuration(merged, options)
    for key, value in values.items():
        setattr(tournament, key, value)
    tournament.options = json.dumps(options)
    tournament.updated_at = _now()
    db.session.commit()
    return tournament


def delete_tournament(tournament_id):
    """Delete a DRAFT tournament. :raise 409: in any other state."""
    tournament = get_tournament(tournament_id, lock=True)
    sm.check("delete", tournament.state)
    db.session.delete(tournament)
    db.session.commit()


def _encode_cursor(tournament):
    raw = json.dumps([tournament.created_at.isoformat(), tournament.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor):
    """(created_at, id) of a cursor _encode_cursor made. :raise 400: for anything else."""
    try:
        if len(cursor) > 200:
            raise ValueError("too long")
        created_at, tournament_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not is_identifier(tournament_id):
            raise ValueError("not an id")
        return moment(created_at), tournament_id
    except (ValueError, TypeError, binascii.Error):
        raise APIError(400, "invalid_input", "The query has invalid parameters.",
                       {"cursor": "is not a cursor this API returned"}) from None


def list_tournaments(state=None, game=None, limit=20, cursor=None, viewer=None, name_contains=None):
    """(tournaments newest first, next cursor or None), drafts only of those `viewer` organizes
    (every draft for an admin, none for nobody); `name_contains` keeps those whose name holds
    that text, in any case."""
    query = sa.select(Tournament).order_by(Tournament.created_at.desc(), Tournament.id.desc())
    if viewer is None:
        query = query.where(Tournament.state != sm.DRAFT)
    elif not viewer.is_admin:
        query = query.where(sa.or_(Tournament.state != sm.DRAFT, Tournament.organizer_id == viewer.id))
    if state:
        query = query.where(Tournament.state == state)
    if game:
        query = query.where(sa.func.lower(Tournament.game) == game.lower())
    if name_contains:
        pattern = "%" + name_contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(Tournament.name.ilike(pattern, escape="\\"))
    if cursor:
        created_at, tournament_id = _decode_cursor(cursor)
        query = query.where(sa.tuple_(Tournament.created_at, Tournament.id) < sa.tuple_(created_at, tournament_id))
    page = db.session.execute(query.limit(limit + 1)).scalars().all()
    more = len(page) > limit
    page = page[:limit]
    return page, (_encode_cursor(page[-1]) if more else None)


def publish_tournament(tournament_id, spawner, settings):
    """DRAFT -> REGISTRATION and its server started; back to DRAFT if the server fails to start.

    :raise 409: when not in DRAFT. :raise 503: when the server does not come up.
    """
    tournament = get_tournament(tournament_id, lock=True)
    sm.check("publish", tournament.state)
    tournament.state = sm.REGISTRATION
    tournament.updated_at = _now()
    db.session.commit()
    withdrawn = []
    try:
        # Withdrawn before the failure is recorded: a failed start recorded while the tournament
        # still said REGISTRATION was a server to restart for a supervisor round in between.
        row = fleet.start_server(tournament_id, spawner, settings, on_failure=lambda: withdrawn.append(
            _withdraw_publication(tournament_id, sm.REGISTRATION)))
    except SpawnError as exc:
        log.error("publishing %s failed: %s", tournament_id, exc)
        if withdrawn[0] if withdrawn else _withdraw_publication(tournament_id, sm.REGISTRATION):
            fleet.stop_server(tournament_id, spawner)
            # Again once stopped: a server the supervisor started meanwhile may have written before it died.
            _withdraw_publication(tournament_id, sm.DRAFT)
            raise APIError(503, "server_start_failed",
                           f"The tournament's server did not start ({exc}); it is still a DRAFT.") from None
    if row is not None and row.status == fleet.STARTING:  # claimed by another caller, not started by us
        _await_start_by_another(tournament_id, settings)
    return get_tournament(tournament_id)


def _await_start_by_another(tournament_id, settings):
    """Wait, up to SPAWN_TIMEOUT, while the tournament's server is STARTING by another caller: a
    supervisor round (of any orchestrator) between the publish's commit and its own start claims
    the start, and the publish must not answer before that server is up (a write right after it
    got a 503, seen with several orchestrators on one database)."""
    deadline = time.monotonic() + settings["SPAWN_TIMEOUT"]
    while time.monotonic() < deadline:
        db.session.rollback()  # see the other caller's commits
        row = fleet.server_row(tournament_id)
        if row is None or row.status != fleet.STARTING:
            return
        time.sleep(0.05)


# What a tournament server writes on its own when it opens a log; anything else came from a client.
_UNATTENDED_EVENTS = (events.TOURNAMENT_PUBLISHED, events.STATE_CHANGED, events.TOURNAMENT_STARTING)


def _withdraw_publication(tournament_id, from_state):
    """A failed publish, undone in one transaction: the registry back to DRAFT and what a server of
    this publication wrote (its log, announcements, notifications, its chat) removed, so the next publish
    starts from the registry's configuration as it is then. The row's lock orders this against
    the server's first write (tournament_service.store). False, changing nothing, when the
    tournament is not in `from_state` or its log holds a client's command (another start served it).
    """
    tournament = get_tournament(tournament_id, lock=True)
    served = db.session.execute(sa.select(tournament_events.c.seq).where(
        tournament_events.c.tournament_id == tournament_id,
        tournament_events.c.type.not_in(_UNATTENDED_EVENTS)).limit(1)).first()
    if tournament.state != from_state or served:
        db.session.commit()
        return False
    tournament.state, tournament.endpoint, tournament.updated_at = sm.DRAFT, None, _now()
    for table in (tournament_events, announcements, notifications, chat_messages):
        db.session.execute(sa.delete(table).where(table.c.tournament_id == tournament_id))
    db.session.commit()
    return True


def ensure_server(tournament, spawner, settings):
    """The endpoint of the tournament's server, starting one if none answers."""
    row = fleet.server_row(tournament.id)
    if tournament.endpoint and row and spawner.health(row.host, row.port, tournament.id, row.token):
        return tournament.endpoint
    try:
        fleet.start_server(tournament.id, spawner, settings)
    except SpawnError as exc:
        raise APIError(503, "server_unavailable", f"The tournament's server can't be started: {exc}.") from None
    db.session.refresh(tournament)
    if not tournament.endpoint:
        raise APIError(503, "server_unavailable", "The tournament's server is being started; try again shortly.")
    return tournament.endpoint


def _end_tournament(tournament_id, action, spawner, settings, sign_as):
    """Cancel or archive: the server records the change in its log, then it is stopped.

    Idempotent: a caller who finds the tournament already ended this way (another caller, racing
    in this process or another orchestrator, got there first) gets it as it is, never a 503.
    `sign_as(tournament, method, path)` gives the identity headers the server is sent.
    """
    ended = _ENDS_IN[action]
    tournament = get_tournament(tournament_id)
    if tournament.state == ended:
        return _ended_already(tournament, spawner)
    if tournament.state not in sm.SERVED_STATES and not tournament.endpoint:
        sm.check(action, tournament.state)  # DRAFT cancel passes; the other end raises
        tournament.state = sm.next_state(action, tournament.state)
    else:
        try:
            if not _end_on_server(tournament, action, spawner, settings, sign_as):
                return get_tournament(tournament_id)
        except APIError as exc:
            if exc.status != 503:
                raise
            # The server went away under us: if another caller ended the tournament (it records
            # the end here before stopping the server), that end is our answer too.
            tournament = _reread(tournament_id)
            if tournament.state != ended:
                raise
            return tournament
    tournament.updated_at = _now()
    db.session.commit()
    return tournament


def _end_on_server(tournament, action, spawner, settings, sign_as):
    """Have the server record the end, keep its read-only snapshot, record the end here, stop it.

    False when there was nothing to do: a racing caller had ended the tournament and stopped it.
    """
    tournament_id = tournament.id
    row = fleet.server_row(tournament_id)
    if not (tournament.endpoint and row and spawner.health(row.host, row.port, tournament_id, row.token)):
        # No live server: maybe a racing caller ended the tournament and stopped it. Don't start
        # a server for an ended tournament just to hear that.
        tournament = _reread(tournament_id)
        if tournament.state == _ENDS_IN[action]:
            return False
    # The server holds the true state; the mirror may lag a moment behind it.
    endpoint = ensure_server(tournament, spawner, settings)
    try:
        summary = server_client.command(endpoint, tournament_id, f"/api/{action}",
                                        sign_as(tournament, "POST", f"/api/{action}"))
    except APIError as exc:
        # Already done on the server (by a racing caller, or we died before recording it here).
        if exc.code != "illegal_state" or (exc.fields or {}).get("state") != _ENDS_IN[action]:
            raise
        summary = server_client.query(endpoint, tournament_id, "/api/state")
    _capture_final_snapshot(tournament, endpoint, summary)
    tournament.state = summary["state"]
    db.session.commit()  # ended first: the supervisor must not restart what we stop next
    fleet.stop_server(tournament_id, spawner)
    return True


def _capture_final_snapshot(tournament, endpoint, summary):
    """Keep the server's read-only snapshot of the ended `tournament`; a server gone meanwhile is
    logged, as an error only when no racing capture (the supervisor's, see _keep_snapshot) kept one."""
    try:
        _keep_snapshot(tournament, snapshots.capture(endpoint, tournament.id, summary))
    except APIError as exc:
        # The change is already in the log; a missing read-only view must not undo it.
        _capture_failed(tournament.id, exc)


def _capture_failed(tournament_id, exc):
    """Log a capture of `tournament_id`'s final snapshot that failed with `exc` (its server gone):
    as an error only when no racing capture kept one (committed before it stopped the server)."""
    kept = db.session.execute(sa.select(tournaments.c.final_snapshot.is_not(None))
                              .where(tournaments.c.id == tournament_id)).scalar()
    if kept:
        log.info("the final snapshot of %s was kept by a racing capture (ours failed: %s)", tournament_id, exc.message)
    else:
        log.error("no final snapshot of %s: %s", tournament_id, exc.message)


def _keep_snapshot(tournament, text):
    """Keep `text` as the tournament's final snapshot (committed by the caller), unless a racing
    capture kept one first that is as whole: the supervisor sees the end mirrored from the feed
    and may capture and stop the server while a cancel or archive is still capturing, whose pages
    then can't be read any more. The row stays locked until the caller commits."""
    kept = db.session.execute(sa.select(tournaments.c.final_snapshot).where(tournaments.c.id == tournament.id)
                              .with_for_update()).scalar()
    if kept is None or (snapshots.has_pages(text) and not snapshots.has_pages(kept)):
        tournament.final_snapshot = text
        if not snapshots.has_pages(text):
            log.warning("the final snapshot of %s has no pages: its server could not give them", tournament.id)
    else:
        log.info("the final snapshot of %s was kept by a racing capture", tournament.id)


def _reread(tournament_id):
    """The registry entry as committed now (this session's copy may be older)."""
    db.session.rollback()
    return get_tournament(tournament_id)


def _ended_already(tournament, spawner):
    """A tournament found ended: finish a half-done end (its server may still run), return it."""
    if tournament.endpoint:
        finish_ended(tournament.id, spawner)
        tournament = _reread(tournament.id)
    return tournament


def finish_ended(tournament_id, spawner):
    """Stop the server of a tournament that ended without us (its own log says so): keep the
    read-only snapshot first, if there is none yet."""
    tournament = get_tournament(tournament_id)
    if tournament.final_snapshot is None and tournament.endpoint:
        try:
            summary = server_client.query(tournament.endpoint, tournament_id, "/api/state")
            _keep_snapshot(tournament, snapshots.capture(tournament.endpoint, tournament_id, summary))
            db.session.commit()
        except APIError as exc:
            db.session.rollback()  # and see what a racing cancel or archive committed
            _capture_failed(tournament_id, exc)
    fleet.stop_server(tournament_id, spawner)


def cancel_tournament(tournament_id, spawner, settings, sign_as):
    return _end_tournament(tournament_id, "cancel", spawner, settings, sign_as)


def archive_tournament(tournament_id, spawner, settings, sign_as):
    return _end_tournament(tournament_id, "archive", spawner, settings, sign_as)


def mirror_state(tournament_id, to_state):
    """Move the registry's state mirror forward to `to_state` (never backward, and never out of
    DRAFT: only a publish does that, and a late event of a withdrawn publication must not)."""
    behind = [state for state, rank in _STATE_RANK.items() if 0 < rank < _STATE_RANK.get(to_state, -1)]
    db.session.execute(sa.update(tournaments)
                       .where(tournaments.c.id == tournament_id, tournaments.c.state.in_(behind))
                       .values(state=to_state, updated_at=_now()))
    db.session.commit()


def sync_state_mirrors():
    """Bring every served tournament's mirror up to the last state change in its log."""
    served = db.session.execute(sa.select(Tournament.id).where(Tournament.state.in_(sm.SERVED_STATES)))
    for (tournament_id,) in served.all():
        last = db.session.execute(
            sa.select(tournament_events.c.payload)
            .where(tournament_events.c.tournament_id == tournament_id, tournament_events.c.type == "state_changed")
            .order_by(tournament_events.c.seq.desc()).limit(1)).scalar()
        if last:
            mirror_state(tournament_id, json.loads(last)["to_state"])
