"""The OpenAPI document: every API route is in it, it is valid, and it is served with its docs page."""
import re

import pytest
import schemathesis
from openapi_spec_validator import validate

from orchestrator import openapi as orchestrator_openapi
from shared import formats
from tournament_service import openapi as tournament_openapi

NOT_ROUTES = {"HEAD", "OPTIONS"}  # answered by Flask for every rule


def _documented(document, path, method):
    return method.lower() in document["paths"].get(path, {})


def _undocumented(app, document, skipped, prefix=""):
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or app.view_functions[rule.endpoint] in skipped:
            continue
        path = prefix + re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        missing += [f"{method} {path}" for method in sorted(rule.methods - NOT_ROUTES)
                    if not _documented(document, path, method)]
    return missing


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_every_orchestrator_route_is_documented(app, document):
    assert _undocumented(app, document, orchestrator_openapi.NOT_API) == []


def test_every_tournament_server_route_is_documented_under_the_gateway(tournament_app, document):
    missing = _undocumented(tournament_app, document, tournament_openapi.NOT_API,
                            prefix=tournament_openapi.GATEWAY_PREFIX)
    assert missing == []


def test_an_undocumented_route_is_noticed(app):
    """The check above can fail: a new view without a description is reported."""
    @app.get("/api/v1/undocumented")
    def undocumented():
        return {}

    with app.app_context():
        document = orchestrator_openapi.build(app)
    assert _undocumented(app, document, orchestrator_openapi.NOT_API) == ["GET /api/v1/undocumented"]


def test_internal_server_routes_are_left_out(document):
    assert not [path for path in document["paths"] if path.endswith(("/api/health", "/api/cancel", "/api/archive"))
                and path.startswith("/t/")]


def test_the_document_is_openapi_3_1_that_schemathesis_loads(document):
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on anything OpenAPI 3.1 does not allow
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(len([m for m in item if m != "parameters"]) for item in document["paths"].values())


def test_every_format_option_and_tournament_field_is_described(document):
    from orchestrator.api.tournaments import TOURNAMENT_FIELDS

    described = document["components"]["schemas"]["TournamentInput"]["properties"]
    assert set(described) == set(TOURNAMENT_FIELDS)
    assert set(formats.OPTIONS) <= set(described)


def test_every_body_the_views_validate_is_described_field_for_field(document):
    from orchestrator.api.auth import CREDENTIALS
    from tournament_service.api import RESULT_FIELDS, TEAM_FIELDS

    schemas = document["components"]["schemas"]
    for name, fields in (("Credentials", CREDENTIALS), ("TeamInput", TEAM_FIELDS), ("ResultInput", RESULT_FIELDS)):
        assert set(schemas[name]["properties"]) == set(fields), name
        assert set(schemas[name].get("required", ())) == {key for key, f in fields.items() if f.required}, name


def test_scores_are_documented_in_team_order(document):
    scores = document["components"]["schemas"]["Match"]["properties"]["scores"]
    assert "[team1's, team2's]" in scores["description"] and "not** winner first" in scores["description"]
    assert "[team1's, team2's]" in document["info"]["description"]


def test_errors_share_one_envelope(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            default = operation["responses"]["default"]
            assert default["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, path
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and "$ref" not in response and path != "/readyz":
                    assert response["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_the_docs_page_needs_no_cdn_and_no_inline_script(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "http://" not in html and "https://" not in html and "//" not in html.replace("<!--", "")
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all(body.strip() == "" and "src=" in attrs for attrs, body in scripts)
    assert not re.search(r"\son[a-z]+\s*=", html, re.I)  # no inline event handlers either
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        response.close()
    document_url = re.search(r'data-document="([^"]+)"', html).group(1)
    assert client.get(document_url).get_json()["openapi"] == "3.1.0"
