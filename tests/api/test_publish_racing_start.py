"""A publish whose server another caller is already starting (a supervisor round, of any
orchestrator, between the publish's commit and its own start) answers once that server is up."""
import threading
import time
from datetime import datetime, timezone

import sqlalchemy as sa

from orchestrator.extensions import db
from orchestrator.services import registry
from shared.db.tables import tournament_servers, tournaments


def test_a_publish_waits_for_the_start_another_caller_claimed(app):
    with app.app_context():
        tid = registry.create_tournament({"name": "Race to start", "game": "chess"}).id
        db.session.execute(sa.insert(tournament_servers).values(
            tournament_id=tid, status="STARTING", started_at=datetime.now(timezone.utc)))
        db.session.commit()

        def the_other_start_finishes():
            time.sleep(0.5)
            with app.app_context(), db.engine.begin() as other:
                other.execute(sa.update(tournament_servers).where(tournament_servers.c.tournament_id == tid)
                              .values(status="RUNNING", host="127.0.0.1", port=9, pid=1))
                other.execute(sa.update(tournaments).where(tournaments.c.id == tid).values(endpoint="127.0.0.1:9"))

        threading.Thread(target=the_other_start_finishes, daemon=True).start()
        began = time.monotonic()
        published = registry.publish_tournament(tid, app.extensions["spawner"], app.config)
        assert published.endpoint == "127.0.0.1:9" and time.monotonic() - began >= 0.4
