"""Two captures of one ended tournament's snapshot racing (a cancel or archive, and the supervisor
that saw the end mirrored from the feed and stopped the server): the one with the pages stays."""
import json

from orchestrator.extensions import db
from orchestrator.services import registry


def _snapshot(pages):
    body = {"api/state": {"state": "ARCHIVED"}}
    if pages:
        body.update(pages={"": "eJzLSM3JyQcABiwCFQ=="}, static={})
    return json.dumps(body)


def test_a_snapshot_with_pages_is_not_replaced_by_one_without(app):
    with app.app_context():
        tournament = registry.create_tournament({"name": "Race", "game": "chess"})
        tid = tournament.id
        registry._keep_snapshot(tournament, _snapshot(pages=False))
        db.session.commit()
        assert "pages" not in json.loads(registry.get_tournament(tid).final_snapshot)
        # The supervisor's capture, with pages, replaces one without...
        registry._keep_snapshot(registry.get_tournament(tid), _snapshot(pages=True))
        db.session.commit()
        assert "pages" in json.loads(registry.get_tournament(tid).final_snapshot)
        # ...and the late capture of the cancel, whose pages could not be read any more, does not.
        stale = registry.get_tournament(tid)
        db.session.expire_all()
        registry._keep_snapshot(stale, _snapshot(pages=False))
        db.session.commit()
        assert "pages" in json.loads(registry.get_tournament(tid).final_snapshot)
