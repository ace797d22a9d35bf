"""Two captures of one ended tournament's snapshot racing (a cancel or archive, and the supervisor
that saw the end mirrored from the feed and stopped the server): the one with the pages stays."""
import json
import socket
import threading

import sqlalchemy as sa

from orchestrator.extensions import db
from orchestrator.services import registry
from shared.db.tables import tournaments


def _snapshot(pages):
    body = {"api/state": {"state": "ARCHIVED"}}
    if pages:
        body.update(pages={"": "eJzLSM3JyQcABiwCFQ=="}, static={})
    return json.dumps(body)


def _levels(caplog):
    levels = [r.levelname for r in caplog.records if "final snapshot" in r.getMessage()]
    caplog.clear()
    return levels


def test_a_snapshot_with_pages_is_not_replaced_by_one_without(app, caplog):
    with app.app_context():
        tournament = registry.create_tournament({"name": "Race", "game": "chess"})
        tid = tournament.id
        caplog.clear()
        registry._keep_snapshot(tournament, _snapshot(pages=False))
        db.session.commit()
        assert "pages" not in json.loads(registry.get_tournament(tid).final_snapshot)
        assert _levels(caplog) == ["WARNING"]  # kept without pages: a viewer will miss them
        # The supervisor's capture, with pages, replaces one without...
        registry._keep_snapshot(registry.get_tournament(tid), _snapshot(pages=True))
        db.session.commit()
        assert "pages" in json.loads(registry.get_tournament(tid).final_snapshot)
        # ...and the late capture of the cancel, whose pages could not be read any more, does not.
        stale = registry.get_tournament(tid)
        db.session.expire_all()
        caplog.clear()
        registry._keep_snapshot(stale, _snapshot(pages=False))
        db.session.commit()
        assert "pages" in json.loads(registry.get_tournament(tid).final_snapshot)
        assert _levels(caplog) == ["INFO"]  # the loser of the race: nothing is missing


def test_a_capture_that_finds_the_server_gone_is_an_error_only_when_no_racing_capture_kept_one(app, caplog):
    gone = "127.0.0.1:9"  # nothing listens: the server was stopped under the capture
    with app.app_context():
        tournament = registry.create_tournament({"name": "Gone", "game": "chess"})
        registry._capture_final_snapshot(tournament, gone, {"state": "CANCELLED"})
        assert [r.levelname for r in caplog.records if "final snapshot" in r.getMessage()] == ["ERROR"]
        caplog.clear()
        # The supervisor's capture kept one first: ours failing is expected, not an error.
        registry._keep_snapshot(tournament, _snapshot(pages=True))
        db.session.commit()
        registry._capture_final_snapshot(registry.get_tournament(tournament.id), gone, {"state": "CANCELLED"})
        assert [r.levelname for r in caplog.records if "final snapshot" in r.getMessage()] == ["INFO"]
        assert "pages" in json.loads(registry.get_tournament(tournament.id).final_snapshot)


def _server_that_lets_a_cancel_keep_a_snapshot_then_hangs_up(app, tournament_id):
    """A listener standing in for a server the cancel stopped: at the supervisor's first request,
    the cancel's snapshot is committed (from another connection), then the connection is cut."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve():
        conn, _ = listener.accept()
        with app.app_context(), db.engine.begin() as other:
            other.execute(sa.update(tournaments).where(tournaments.c.id == tournament_id)
                          .values(final_snapshot=_snapshot(pages=True)))
        conn.close()
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"127.0.0.1:{listener.getsockname()[1]}"


def test_the_supervisors_capture_that_finds_the_server_gone_is_an_error_only_when_no_cancel_kept_one(app, caplog):
    spawner = app.extensions["spawner"]
    with app.app_context():
        alone = registry.create_tournament({"name": "Alone", "game": "chess"})
        alone.endpoint = "127.0.0.1:9"  # nothing listens, and nobody else kept a snapshot
        raced = registry.create_tournament({"name": "Raced", "game": "chess"})
        raced.endpoint = _server_that_lets_a_cancel_keep_a_snapshot_then_hangs_up(app, raced.id)
        db.session.commit()
        caplog.clear()
        registry.finish_ended(alone.id, spawner)
        assert _levels(caplog) == ["ERROR"]
        registry.finish_ended(raced.id, spawner)
        assert _levels(caplog) == ["INFO"]
        assert "pages" in json.loads(registry.get_tournament(raced.id).final_snapshot)
