"""What a tournament server measures, for its /metrics (tournament_service/api.py).

One process per tournament, so no multiprocess mode: the default registry. The tournament is not
a label: Prometheus adds `tournament_id` from the orchestrator's scrape targets
(GET /api/v1/metrics/targets). Labels are command names from this code, nothing a client sends.
"""
import time
from contextlib import contextmanager

from flask import Blueprint, current_app, request
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from shared.metrics import metrics_response
from shared.state_machine import IllegalAction
from tournament_service.tournament import DomainError

COMMANDS = Counter("tournament_commands", "Commands handled, by command and outcome (ok; refused: the "
                   "tournament said no, 4xx; failed: anything else).", ["command", "outcome"])
COMMAND_SECONDS = Histogram("tournament_command_duration_seconds", "Time to handle a command, waiting for "
                            "the command lock included, by command.", ["command"])
EVENTS_APPENDED = Counter("tournament_events_appended", "Events committed to this tournament's log.")


@contextmanager
def command(name):
    """Count and time the command `name` run inside the block."""
    started, outcome = time.perf_counter(), "failed"
    try:
        yield
        outcome = "ok"
    except (DomainError, IllegalAction) as exc:
        outcome = "refused" if getattr(exc, "status", 409) < 500 else "failed"
        raise
    finally:
        COMMANDS.labels(name, outcome).inc()
        COMMAND_SECONDS.labels(name).observe(time.perf_counter() - started)


class ServerCollector:
    """Figures read from the server at each scrape: its live viewers and how it started."""

    def __init__(self, server):
        self.server = server

    def collect(self):
        server = self.server
        yield GaugeMetricFamily("tournament_sse_viewers", "Live /api/events streams of this server.",
                                value=server.hub.viewer_count())
        yield GaugeMetricFamily("tournament_replay_seconds", "Time this server took at its start to rebuild "
                                "the tournament from its log.", value=server.replay_seconds)
        yield GaugeMetricFamily("tournament_replayed_events", "Events replayed at this server's start.",
                                value=server.replayed_events)


bp = Blueprint("tournament_metrics", __name__)


@bp.get("/metrics")
def scrape():
    """This server's figures, for Prometheus on the private network (the gateway never forwards
    /metrics); METRICS_TOKEN, when set, is needed as for the orchestrator's."""
    return metrics_response(current_app.config, request.headers.get("Authorization"),
                            [ServerCollector(current_app.extensions["tournament_server"])])
