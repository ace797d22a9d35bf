"""/api/v1/openapi.json (the API described for machines) and /api/docs (for people)."""
from flask import Blueprint, current_app, jsonify, render_template

bp = Blueprint("docs", __name__)

SWAGGER_UI = "vendor/swagger-ui-dist-5.35.0"


@bp.get("/api/v1/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 document of both APIs, built once per process from the registered routes."""
    document = current_app.extensions.get("openapi_document")
    if document is None:
        from orchestrator.openapi import build  # it imports every view module, this one included

        document = current_app.extensions["openapi_document"] = build(current_app)
    return jsonify(document)


@bp.get("/api/docs")
def api_docs():
    """The document in Swagger UI, served from this app's own static files (no CDN)."""
    return render_template("api_docs.html", swagger_ui=SWAGGER_UI)
