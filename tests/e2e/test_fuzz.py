"""Both APIs fuzzed from their OpenAPI document (schemathesis) against a real orchestrator and real
tournament servers: no answer is a 5xx, every answer is what the document says, and a refused
write (4xx) changes nothing in the database.

FUZZ_MAX_EXAMPLES (default 5) bounds the fuzzing phase per operation; a longer local run:
`FUZZ_MAX_EXAMPLES=200 .venv/bin/python -m pytest tests/e2e/test_fuzz.py`. FUZZ_SEED picks another run.
"""
import os

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.fuzz import changes, fuzz_platform, settled_state  # noqa: F401 (a fixture)

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "5"))
# The answers are as documented, and what the document calls invalid is refused.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
# Writes that would end the run's own session, or the phase of a tournament the run keeps fuzzing in
# it (tests/e2e/test_documented_shapes.py goes through every phase).
LOGOUT = ("POST", "/api/v1/auth/logout")
ENDS_PHASE = {("POST", "/api/v1/tournaments/{tournament_id}/cancel"),
              ("POST", "/api/v1/tournaments/{tournament_id}/archive"),
              ("POST", "/api/v1/tournaments/{tournament_id}/publish"),
              ("DELETE", "/api/v1/tournaments/{tournament_id}")}


@pytest.fixture
def fuzzed_schema(fuzz_platform):  # noqa: F811
    token = fuzz_platform["api"].session.headers["Authorization"].partition(" ")[2]
    ids = fuzz_platform["ids"]
    config = schemathesis.Config.from_dict({
        "seed": int(os.environ.get("FUZZ_SEED", "20261129")),
        "headers": {"Authorization": f"Bearer {token}"},
        # No example database: a run depends on the seed and the code only, not on earlier runs.
        "generation": {"max-examples": MAX_EXAMPLES, "mode": "all", "database": "none"},
        "request-timeout": 30,
        # Path ids are mostly the run's real tournaments, teams and matches, so requests get past
        # the lookups to the validation and the state machine behind them.
        "dictionaries": {name: {"values": values} for name, values in ids.items()},
        "parameters": {f"path.{name}": {"dictionary": name, "probability": 0.8} for name in ids},
    })
    return schemathesis.openapi.from_url(fuzz_platform["url"] + "/api/v1/openapi.json", config=config)


# SSE streams never end; test_hostile_input.py sends them bad Last-Event-IDs.
schema = schemathesis.pytest.from_fixture("fuzzed_schema").exclude(path_regex=r"/events(/|$)")


@schema.parametrize()
def test_no_request_gets_a_5xx_and_a_refused_write_changes_nothing(case, fuzz_platform):  # noqa: F811
    operation = (case.method.upper(), case.operation.path)
    playing = fuzz_platform["ids"]["tournament_id"][:3]  # DRAFT, REGISTRATION, ACTIVE
    if operation == LOGOUT or case.path_parameters.get("token_id") in fuzz_platform["own_tokens"] or (
            operation in ENDS_PHASE and case.path_parameters.get("tournament_id") in playing):
        return
    write = case.method.upper() not in ("GET", "HEAD", "OPTIONS")
    before = settled_state(fuzz_platform["engine"]) if write else None
    response = case.call(base_url=fuzz_platform["url"], timeout=30)
    fuzz_platform["statuses"][f"{response.status_code // 100}xx"] += 1
    case.validate_response(response, checks=CHECKS)
    if write and 400 <= response.status_code < 500:
        changed = changes(before, fuzz_platform["engine"])
        assert not changed, (f"{case.method} {case.formatted_path} refused with {response.status_code} "
                             f"but changed {changed}: {response.text[:300]}")
