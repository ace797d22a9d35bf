"""/healthz (the process answers) and /readyz (its database and Redis answer too)."""
import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from orchestrator.extensions import db
from shared.pubsub import REDIS_DOWN

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    checks = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except sa.exc.SQLAlchemyError as exc:
        db.session.rollback()
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        current_app.extensions["readiness_redis"].ping()
        checks["redis"] = "ok"
    except REDIS_DOWN as exc:
        checks["redis"] = f"unreachable: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return jsonify({"status": "ready" if ready else "not_ready", "checks": checks}), 200 if ready else 503
