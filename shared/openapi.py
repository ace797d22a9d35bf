"""Building blocks of the OpenAPI 3.1 document that describes both apps.

Paths come from the URL rules the view functions are registered under (apispec-webframeworks'
FlaskPlugin), so a path in the document can't drift from the code; what each operation takes and
answers is written once per app (`orchestrator/openapi.py`, `tournament_service/openapi.py`).
"""
import re

from apispec import APISpec
from apispec_webframeworks.flask import FlaskPlugin

ERROR_STATUSES = {
    400: "Bad input: malformed JSON, or fields that fail validation (`fields` names each one).",
    401: "Not logged in, or the credentials are unknown, expired or revoked.",
    403: "Logged in, but not allowed (not the organizer, a captain of another team, a CSRF failure).",
    404: "No such tournament, team, match, token or subscription.",
    409: "Not allowed in the current state: `illegal_state` with `fields.action` and `fields.state`, "
         "or another conflict (`team_name_taken`, `result_locked`, `read_only`, ...).",
    413: "The request body is larger than the limit (64 KiB by default).",
    429: "Too many attempts; `Retry-After` says how many seconds to wait.",
    503: "A dependency (a tournament's server, the database) is unavailable; try again.",
}


SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer",
                   "description": "The `token` from POST /api/v1/auth/login. Needs no CSRF header."},
    "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session",
                   "description": "The session cookie login sets (for browsers)."},
    "csrfToken": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
                  "description": "The `csrf_token` from login or /api/v1/auth/me; a cookie-authenticated "
                                 "write must send it."},
    "metricsToken": {"type": "http", "scheme": "bearer",
                     "description": "The deployment's METRICS_TOKEN, for the monitoring (Prometheus)."},
}
# Security requirements: any of the listed alternatives.
LOGIN = [{"bearerAuth": []}, {"cookieAuth": []}]
WRITE_LOGIN = [{"bearerAuth": []}, {"cookieAuth": [], "csrfToken": []}]
OPTIONAL_LOGIN = [{}, {"bearerAuth": []}, {"cookieAuth": []}]
NO_LOGIN = [{}]


class RulePlugin(FlaskPlugin):
    """FlaskPlugin with an optional `prefix` for paths reached through the gateway."""

    def path_helper(self, path=None, operations=None, parameters=None, *, view=None, app=None, prefix="",
                    **kwargs):
        return prefix + super().path_helper(path, operations, parameters, view=view, app=app, **kwargs)


def new_spec(title, version, description):
    """An empty OpenAPI 3.1 document with the error envelope and its responses in its components."""
    spec = APISpec(title=title, version=version, openapi_version="3.1.0", plugins=[RulePlugin()],
                   info={"description": description})
    spec.components.schema("Error", ERROR_SCHEMA)
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    for status, description_text in ERROR_STATUSES.items():
        spec.components.response(str(status), error_response(description_text))
    return spec


ERROR_SCHEMA = {
    "type": "object",
    "description": "The one error envelope of both apps.",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "additionalProperties": False,
        "properties": {
            "code": {"type": "string", "description": "Stable, machine-readable: `invalid_input`, "
                                                      "`illegal_state`, `tournament_not_found`, ..."},
            "message": {"type": "string", "description": "For people; may change."},
            "fields": {"type": "object", "description": "Per field (or per detail, such as `action` and "
                                                        "`state` of a 409): what is wrong with it.",
                       "additionalProperties": {"anyOf": [{"type": "string"},
                                                          {"type": "array", "items": {"type": "string"}}]}},
        },
    }},
    "example": {"error": {"code": "invalid_input", "message": "The request has invalid fields.",
                          "fields": {"name": "is required"}}},
}


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema):
    """`schema` or null."""
    return {"anyOf": [schema, {"type": "null"}]}


def error_response(description):
    return {"description": description, "content": {"application/json": {"schema": ref("Error")}}}


def json_response(description, schema, headers=None):
    response = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def no_content(description):
    return {"description": description}


def items_of(schema_name, **extra):
    """A collection: `{"items": [...]}`, with `extra` properties beside it."""
    return {"type": "object", "required": ["items"],
            "properties": {"items": {"type": "array", "items": ref(schema_name)}, **extra}}


def json_body(schema, required=True, example=None):
    content = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"required": required, "content": {"application/json": content}}


EMPTY_BODY = json_body({"type": "object", "additionalProperties": False,
                        "description": "No fields; the body may be omitted."}, required=False)


def path_param(name, description, example, schema=None):
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema or {"type": "string", "minLength": 1}, "example": example}


def query_param(name, description, schema):
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def operation(summary, responses, *, tags, errors=(), description=None, body=None, parameters=(),
              security=None, operation_id=None):
    """One operation: `responses` are the successes, `errors` the statuses (ERROR_STATUSES) it can
    refuse with; any other refusal still comes in the error envelope (`default`)."""
    op = {"summary": summary, "tags": list(tags), "responses": dict(responses)}
    for status in errors:
        op["responses"][str(status)] = {"$ref": f"#/components/responses/{status}"}
    op["responses"]["default"] = error_response("Any other refusal, in the same envelope.")
    if description:
        op["description"] = description
    if body is not None:
        op["requestBody"] = body
    if parameters:
        op["parameters"] = list(parameters)
    if security is not None:
        op["security"] = security
    if operation_id:
        op["operationId"] = operation_id
    return op


def add_paths(spec, app, described, path_params, prefix=""):
    """Add each (view function, {method: operation}) of `described` at the path of its rule in `app`
    (after `prefix`), with the `path_params` ({name: parameter}) its path names."""
    for view, operations in described:
        path = prefix + RulePlugin.flaskpath2openapi(RulePlugin._rule_for_view(view, app).rule)
        parameters = [path_params[name] for name in re.findall(r"{(\w+)}", path)]
        spec.path(view=view, app=app, operations=dict(operations), prefix=prefix, parameters=parameters)
