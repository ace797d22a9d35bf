"""/metrics of both services: the Prometheus text exposition, and who may read it.

A process's metrics live in prometheus-client's default registry; under gunicorn, each worker
writes its own to files in PROMETHEUS_MULTIPROC_DIR and a scrape, answered by any worker, reads
and adds up all of them (orchestrator/metrics_files.py). Figures read at scrape time (the fleet's
servers by state, a tournament server's viewers) come from the app's own collectors on top.
"""
import hmac
import os

from flask import Response
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, REGISTRY, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from shared.errors import APIError

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def token_matches(expected, authorization):
    """True when `authorization` (an Authorization header) is `Bearer <expected>`; False without
    a token configured."""
    scheme, _, given = (authorization or "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                                                  expected.encode())


def require_metrics_reader(config, authorization):
    """Anyone may read metrics when METRICS_TOKEN is unset (a private port); else only a caller
    sending it as a Bearer token.

    :raise 401: a token is configured and the caller did not send it.
    """
    if config.get("METRICS_TOKEN") and not token_matches(config["METRICS_TOKEN"], authorization):
        raise APIError(401, "unauthorized", "Metrics need Authorization: Bearer <METRICS_TOKEN>.",
                       headers={"WWW-Authenticate": 'Bearer realm="metrics"'})


class _Scrape:
    """What one scrape reads: this process's metrics (all workers' in multiprocess mode), then
    the app's scrape-time collectors."""

    def __init__(self, collectors):
        path = os.environ.get(MULTIPROC_ENV)
        self.sources = [MultiProcessCollector(None, path) if path else REGISTRY, *collectors]

    def collect(self):
        for source in self.sources:
            yield from source.collect()


def metrics_response(config, authorization, collectors=()):
    """The text exposition of everything this process (or service) measures.

    :raise 401: see require_metrics_reader.
    """
    require_metrics_reader(config, authorization)
    # The classic text format every Prometheus reads (our names need none of 1.0.0's escaping).
    return Response(generate_latest(_Scrape(collectors)), content_type=CONTENT_TYPE_PLAIN_0_0_4,
                    headers={"Cache-Control": "no-store"})
