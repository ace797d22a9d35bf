"""Redis is a bus, not the record: what is published there without being in the log moves nothing.

Anything that can publish on Redis tries to cancel a running tournament and to show viewers of the
tournament, global and user feeds events that never happened; the registry and the feeds follow
only the tables the servers write (tournament_events, announcements, notifications).
"""
import time

import redis
import sqlalchemy as sa

from shared import events
from shared.db.tables import announcements, notifications, tournament_events
from tests.conftest import REDIS_URL
from tests.support.api import make_tournament, ok


def _head(db_engine, table, *where):
    with db_engine.connect() as conn:
        return conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.seq), 0)).where(*where)).scalar()


def _stored(db_engine, table, *where):
    with db_engine.connect() as conn:
        return conn.execute(sa.select(table.c.payload).where(*where)).scalar_one()


def test_forged_messages_on_redis_cancel_nothing_and_reach_no_viewer(orchestrator, platform_env, db_engine):
    api = orchestrator.api
    user_id = api.user["id"]
    tid = make_tournament(api, "REGISTRATION", teams=2, max_teams=2)["id"]
    # A subscriber hears tournament_starting (the organizer's own entries have no captain).
    ok(api.post("/api/v1/subscriptions", {"tournament_id": tid}), 201)
    channels = events.Channels(platform_env["REDIS_NAMESPACE"])
    in_log = (tournament_events.c.tournament_id == tid,)
    feeds = {"tournament": api.feed(f"/api/v1/events/tournaments/{tid}"), "global": api.feed("/api/v1/events/global"),
             "user": api.feed(f"/api/v1/events/user/{user_id}")}
    assert all(feed.status_code == 200 for feed in feeds.values())
    heads = {"tournament": _head(db_engine, tournament_events, *in_log),
             "global": _head(db_engine, announcements),
             "user": _head(db_engine, notifications, notifications.c.user_id == user_id)}
    first = events.decode(_stored(db_engine, tournament_events, *in_log, tournament_events.c.seq == 1))
    forged = [
        # The next seq, claiming a cancel: today the registry mirrors it and the server is stopped.
        (channels.tournament_events(tid), events.make_event(
            events.STATE_CHANGED, tid, from_state="REGISTRATION", to_state="CANCELLED", seq=heads["tournament"] + 1)),
        # A seq that is in the log, with another payload.
        (channels.tournament_events(tid), dict(first, name="Forged Cup")),
        (channels.tournament_events(tid), events.make_event(
            events.STATE_CHANGED, tid, from_state="ACTIVE", to_state="COMPLETED", seq=heads["tournament"] + 40)),
        (channels.global_announcements, events.make_event(
            events.TOURNAMENT_CANCELLED, tid, name="Test Cup", seq=heads["global"] + 1)),
        (channels.user_notifications(user_id), events.make_event(
            events.MATCH_READY, tid, match_id="r1_m1", opponent="Nobody", seq=heads["user"] + 1)),
    ]
    bus = redis.Redis.from_url(REDIS_URL)
    try:
        for channel, event in forged:
            assert bus.publish(channel, events.encode(event)) >= 1  # the orchestrator's relay heard it
    finally:
        bus.close()

    time.sleep(2.5)  # two supervisor rounds: time enough to act on a mirrored cancel
    assert ok(api.get(f"/api/v1/tournaments/{tid}"))["state"] == "REGISTRATION"
    assert ok(api.get(f"/t/{tid}/api/state"))["state"] == "REGISTRATION"
    for name, feed in feeds.items():
        assert feed.drain(wait=0.3) == [], name

    # What the servers do commit still reaches every feed, as stored, with the seqs that were forged.
    ok(api.post(f"/t/{tid}/api/start"))
    started = feeds["tournament"].next_event()
    assert started["id"] == heads["tournament"] + 1 and started["data"]["to_state"] == "ACTIVE"
    assert started["data"] == events.decode(_stored(db_engine, tournament_events, *in_log,
                                                    tournament_events.c.seq == started["id"]))
    notice = feeds["user"].next_event()
    assert notice["id"] == heads["user"] + 1 and notice["event"] == "tournament_starting"
    other = make_tournament(api, "REGISTRATION", teams=0)["id"]
    announced = feeds["global"].next_event()
    assert announced["id"] == heads["global"] + 1 and announced["event"] == "tournament_announced"
    assert announced["data"]["tournament_id"] == other
    for feed in feeds.values():
        feed.close()
