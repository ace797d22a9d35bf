"""The orchestrator's SSE relay: one Redis subscription per process, fanned out to every viewer."""
import logging

from orchestrator.services import registry
from shared import events
from shared.pubsub import FeedHub, RedisRelay

log = logging.getLogger(__name__)


def init_relay(app, channels):
    """Start this process's relay; it also keeps the registry's state mirror current."""
    hub = FeedHub(queue_size=app.config["SSE_QUEUE_SIZE"])

    def mirror(channel, event):
        # Before viewers hear of a state change, the registry already shows it.
        tournament_id = channels.tournament_id_of(channel)
        if tournament_id and event["type"] == events.STATE_CHANGED:
            with app.app_context():
                registry.mirror_state(tournament_id, event["to_state"])

    def resync_mirrors():
        with app.app_context():
            registry.sync_state_mirrors()

    hub.add_listener(mirror)
    relay = RedisRelay(app.config["REDIS_URL"], hub, channels=[channels.global_announcements],
                       patterns=[channels.tournament_events_pattern, channels.user_notifications_pattern],
                       on_connect=resync_mirrors)
    app.extensions["feed_hub"] = hub
    app.extensions["redis_relay"] = relay
    relay.start()
    return relay
