"""What the orchestrator measures, for /metrics (orchestrator/api/metrics.py).

Labels are bounded and carry no user data: a request is labelled by its Flask endpoint (the
view's name, never the raw path: `/t/<id>/...` is all `gateway.forward`), its method (the known
ones, else `other`) and its status class; nothing names a user, an address or a tournament.

The metrics are made at their first use, not at import: prometheus-client chooses its
multiprocess mode when it is first imported, and the gunicorn master imports this module (through
the fleet) before its on_starting hook sets PROMETHEUS_MULTIPROC_DIR (orchestrator/metrics_files.py).
"""
import logging
import threading
import time
from types import SimpleNamespace

import sqlalchemy as sa
from flask import g, request

log = logging.getLogger(__name__)

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
STREAM_KINDS = ("feed", "page", "gateway")
RELAY_OUTCOMES = ("relayed", "dropped", "malformed", "unheard")
_made = None
_making = threading.Lock()
_answer_series = {}  # (endpoint, method, status class) -> (its request counter, its latency histogram)


def _metrics():
    global _made
    with _making:
        if _made is None:
            _made = _make()
    return _made


def _make():
    from prometheus_client import Counter, Gauge, Histogram

    made = SimpleNamespace(
        requests=Counter("orchestrator_http_requests", "HTTP requests answered, by Flask endpoint (`unmatched`: "
                         "no route), method and status class.", ["endpoint", "method", "status"]),
        latency=Histogram("orchestrator_http_request_duration_seconds", "Time to answer an HTTP request (to its "
                          "headers: how long a stream then stays open is not counted), by Flask endpoint and "
                          "method.", ["endpoint", "method"]),
        streams=Gauge("orchestrator_sse_streams", "Live SSE streams held (feed: /api/v1/events/<feed>, page: "
                      "/api/v1/events/page, gateway: a tournament server's /api/events).", ["kind"],
                      multiprocess_mode="livesum"),
        relayed=Counter("orchestrator_relay_messages", "Redis messages the relay handled: relayed (in the log "
                        "as sent), dropped (not in the log as sent), malformed, unheard (no viewer or listener).",
                        ["outcome"]),
        restarts=Counter("orchestrator_server_restarts", "Tournament servers the supervisor restarted after a "
                         "failure."),
        spawn_failures=Counter("orchestrator_server_spawn_failures", "Tournament server starts that failed."),
        spawn_seconds=Histogram("orchestrator_server_spawn_seconds", "Time from asking for a tournament server "
                                "to its first good health check.",
                                buckets=(0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60)),
        supervisor_rounds=Histogram("orchestrator_supervisor_round_seconds", "Time of one round of the leading "
                                    "supervisor over the fleet (lease, reconcile, orphan sweep when due); it "
                                    "then waits SUPERVISE_INTERVAL before the next.",
                                    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)),
        workers=Gauge("orchestrator_worker", "1 per live orchestrator process (under gunicorn, per worker, "
                      "labelled with its pid).", multiprocess_mode="liveall"),
    )
    for kind in STREAM_KINDS:  # every series exists from the start, at 0
        made.streams.labels(kind)
    for outcome in RELAY_OUTCOMES:
        made.relayed.labels(outcome)
    return made


def init_app(app):
    """Time and count every request of `app`. Call before any other before_request is registered:
    a request one of them refuses is counted too."""
    _metrics().workers.set(1)
    app.before_request(_start_clock)
    app.after_request(_count_request)


def _start_clock():
    g.metrics_started = time.perf_counter()


def _count_request(response):
    count_answer(request.endpoint or "unmatched", request.method, response.status_code, g.get("metrics_started"))
    return response


def count_answer(endpoint, method, status_code, started=None):
    """Count one answer of `endpoint` (a Flask endpoint's name); with `started` (perf_counter()
    when the request came in), time it too."""
    method = method if method in KNOWN_METHODS else "other"
    key = (endpoint, method, status_code // 100)
    series = _answer_series.get(key)
    if series is None:
        # Looking a labelled series up takes a lock and a few allocations: once per kind of answer
        # (a bounded set: the endpoints, the known methods, five classes), not per request.
        made = _metrics()
        series = _answer_series[key] = (made.requests.labels(endpoint, method, f"{status_code // 100}xx"),
                                        made.latency.labels(endpoint, method))
    requests, latency = series
    requests.inc()
    if started is not None:
        latency.observe(time.perf_counter() - started)


def stream_opened(kind):
    """Count one more live stream of `kind`; returns what counts it closed (once, however often
    it is called)."""
    gauge = _metrics().streams.labels(kind)
    gauge.inc()
    closed = []

    def close():
        if not closed:
            closed.append(True)
            gauge.dec()
    return close


def relay_outcome(outcome, count):
    """The FeedHub's word on what became of `count` messages (shared/pubsub.py)."""
    _metrics().relayed.labels(outcome).inc(count)


def server_started(seconds, restart):
    made = _metrics()
    made.spawn_seconds.observe(seconds)
    if restart:
        made.restarts.inc()


def supervisor_round(seconds):
    _metrics().supervisor_rounds.observe(seconds)


def server_start_failed():
    _metrics().spawn_failures.inc()


class FleetCollector:
    """Tournament servers by state, read from the fleet's table at each scrape: one figure for the
    whole deployment, whichever worker (or orchestrator) answers."""

    def __init__(self, states, read_counts):
        self.states, self.read_counts = states, read_counts

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        try:
            counts = self.read_counts()
        except sa.exc.SQLAlchemyError as exc:  # the rest of the scrape still answers
            log.warning("servers by state left out of /metrics: %s", exc)
            return
        family = GaugeMetricFamily("orchestrator_tournament_servers", "Tournament servers by state (the "
                                   "fleet's records, for the whole deployment).", labels=["state"])
        for state in self.states:
            family.add_metric([state], counts.get(state, 0))
        yield family
