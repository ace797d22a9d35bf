"""/metrics (Prometheus text format) and /api/v1/metrics/targets (the tournament servers to scrape).

Who may read them: see shared/metrics.py (METRICS_TOKEN) and `scrape_targets` below.
"""
from flask import Blueprint, current_app, jsonify, request

from orchestrator import auth
from orchestrator.metrics import FleetCollector
from orchestrator.services import fleet
from shared.errors import APIError
from shared.metrics import metrics_response, token_matches

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics():
    """Every figure of this orchestrator (all its gunicorn workers added up) and the fleet's servers
    by state."""
    return metrics_response(current_app.config, request.headers.get("Authorization"),
                            [FleetCollector(fleet.STATES, fleet.status_counts)])


@bp.get("/api/v1/metrics/targets")
def scrape_targets():
    """The tournament servers answering their health checks, as Prometheus HTTP service discovery
    reads them: `[{"targets": ["host:port"], "labels": {"tournament_id": ...}}]`. Their private
    addresses are for the monitoring only: an admin, or a caller with METRICS_TOKEN.

    :raise 401: anonymous. :raise 403: a user who is not an admin.
    """
    if not token_matches(current_app.config["METRICS_TOKEN"], request.headers.get("Authorization")):
        user = auth.require_user()
        if not user.is_admin:
            raise APIError(403, "forbidden", "Only an admin (or the metrics token) can list the scrape targets.")
    return jsonify([{"targets": [endpoint], "labels": {"tournament_id": tournament_id}}
                    for tournament_id, endpoint in fleet.scrape_targets()])
