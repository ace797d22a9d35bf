"""Hostile values sent everywhere the OpenAPI document says a value enters (every body field, every
path id, every query parameter, Last-Event-ID), through a real orchestrator to real tournament
servers: never a 5xx, always the error envelope, and a refused write changes nothing.

Random fuzzing (test_fuzz.py) rarely produces these values; the document makes sure a new endpoint
or field gets them too.
"""
import json
import re
from datetime import datetime, timezone
from urllib.parse import unquote

import pytest
import requests
import sqlalchemy as sa

from shared.db.tables import users
from tests.support.fuzz import changes, database_state, fuzz_platform, settled_state  # noqa: F401 (a fixture)

HOSTILE_JSON = {  # raw JSON text, as a client could send it
    "lone high surrogate": '"a\\ud800b"',
    "lone low surrogate": '"\\udc00"',
    "NUL": '"a\\u0000b"',
    "NaN": "NaN",
    "Infinity": "-Infinity",
    "overflowing float": "1e400",
    "huge integer": "9" * 40,
    "past year 9999 in UTC": '"9999-12-31T23:59:59-01:00"',
    "before year 1 in UTC": '"0001-01-01T00:00:00+01:00"',
    "deep array": "[" * 5000 + "]" * 5000,
    "deep object": '{"a":' * 3000 + "1" + "}" * 3000,
}
HOSTILE_SEGMENTS = ["%00", "%ED%A0%80", "%C0%AF", "%2e%2e%2f", "x" * 1000, "%F0%9F%8F%86", "%EF%BC%91", "-1",
                    "9" * 30]
HOSTILE_QUERY = ["%00", "%ED%A0%80", "NaN", "-1", "9" * 30, "%EF%BC%91", "", "%20"]
HOSTILE_EVENT_IDS = ["-1", "\uff11".encode().decode("latin-1"), "1e3", "9" * 30, "0x10", "1 "]
ENDING = {("post", "/api/v1/auth/logout"), ("post", "/api/v1/tournaments/{tournament_id}/cancel"),
          ("post", "/api/v1/tournaments/{tournament_id}/archive")}


@pytest.fixture
def document(fuzz_platform):  # noqa: F811
    return requests.get(fuzz_platform["url"] + "/api/v1/openapi.json", timeout=30).json()


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters" and (method, path) not in ENDING:
                yield method, path, operation, item.get("parameters", [])


def _resolve(document, schema):
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _fill(path, ids, own_tokens, **override):
    """`path` with real ids: the phase each kind of request needs to get past the lookups."""
    if path.startswith("/t/"):
        tournament = ids["tournament_id"][2 if "/matches" in path else 1]  # ACTIVE for matches, else REGISTRATION
    else:
        tournament = ids["tournament_id"][0]  # the DRAFT, which PATCH and publish take
    values = {"tournament_id": tournament, "team_id": ids["team_id"][0], "match_id": ids["match_id"][0],
              "token_id": ids["token_id"][0], "user_id": ids["user_id"][0], "team_name": "Team 1", "seq": 1,
              **override}
    return re.sub(r"{(\w+)}", lambda m: str(values[m.group(1)]), path)


def _as_int(text):
    try:
        return int(text)
    except ValueError:
        return None


class Sender:
    """Sends one request as the fuzzing organizer and checks the answer is a clean refusal or success."""

    def __init__(self, platform):
        self.platform = platform
        self.session = requests.Session()
        self.session.headers["Authorization"] = platform["api"].session.headers["Authorization"]
        self.problems = []

    def send(self, method, url_path, what, write, **kw):
        before = settled_state(self.platform["engine"]) if write else None
        try:
            response = self.session.request(method, self.platform["url"] + url_path, timeout=30, stream=True, **kw)
        except requests.RequestException as exc:
            self.problems.append(f"{method.upper()} {url_path[:120]} {what}: no answer ({type(exc).__name__})")
            return
        status = response.status_code
        self.platform["statuses"][f"{status // 100}xx"] += 1
        body = response.raw.read(2000, decode_content=True) if "event-stream" not in response.headers.get(
            "Content-Type", "") else b""
        response.close()
        where = f"{method.upper()} {url_path[:120]} {what}"
        if status >= 500:
            self.problems.append(f"{where}: {status} {body[:200]!r}")
        elif status >= 400:
            try:
                error = json.loads(body)["error"]
                assert isinstance(error["code"], str) and isinstance(error["message"], str)
            except (ValueError, KeyError, TypeError, AssertionError):
                self.problems.append(f"{where}: {status} outside the error envelope: {body[:200]!r}")
            if write and (changed := changes(before, self.platform["engine"])):
                self.problems.append(f"{where}: refused with {status} but changed {changed}")


def test_hostile_bodies_are_refused_cleanly(fuzz_platform, document):  # noqa: F811
    sender = Sender(fuzz_platform)
    for method, path, operation, _params in _operations(document):
        if "requestBody" not in operation:
            continue
        url_path = _fill(path, fuzz_platform["ids"], fuzz_platform["own_tokens"])
        content = operation["requestBody"]["content"]["application/json"]
        schema = _resolve(document, content["schema"])
        base = dict(schema.get("example") or {})
        for name, raw in HOSTILE_JSON.items():
            sender.send(method, url_path, f"body={name}", True, data=raw.encode(),
                        headers={"Content-Type": "application/json"})
            for field in schema.get("properties", {}):
                others = json.dumps({k: v for k, v in base.items() if k != field})
                body = others[:-1] + (", " if len(others) > 2 else "") + f'"{field}": {raw}}}'
                sender.send(method, url_path, f"{field}={name}", True, data=body.encode(),
                            headers={"Content-Type": "application/json"})
    assert not sender.problems, f"{len(sender.problems)} problems:\n" + "\n".join(sender.problems)


def test_hostile_path_ids_and_queries_are_refused_cleanly(fuzz_platform, document):  # noqa: F811
    sender = Sender(fuzz_platform)
    ids = fuzz_platform["ids"]
    for method, path, operation, path_params in _operations(document):
        write = method not in ("get", "head")
        for param in path_params:
            for segment in HOSTILE_SEGMENTS:
                if param["name"] == "token_id" and _as_int(unquote(segment)) in fuzz_platform["own_tokens"]:
                    continue  # "１" is token 1 to Flask's int converter: revoking our own would end the run
                url_path = _fill(path, ids, fuzz_platform["own_tokens"], **{param["name"]: segment})
                sender.send(method, url_path, f"{param['name']}={segment[:20]}", write)
        for param in operation.get("parameters", []):
            url_path = _fill(path, ids, fuzz_platform["own_tokens"])
            if param["in"] == "query":
                for value in HOSTILE_QUERY:
                    sender.send(method, f"{url_path}?{param['name']}={value}", f"?{param['name']}={value[:20]}", write)
            elif param["in"] == "header":
                for value in HOSTILE_EVENT_IDS:
                    sender.send(method, url_path, f"{param['name']}: {value!r}", write, headers={param["name"]: value})
    assert not sender.problems, f"{len(sender.problems)} problems:\n" + "\n".join(sender.problems)


def test_the_nothing_changed_check_sees_a_change(db_engine):
    """The refusal checks above can fail: a row written between two looks is noticed."""
    before = database_state(db_engine)
    with db_engine.begin() as conn:
        conn.execute(sa.insert(users).values(username="ghost-writer", username_key="ghost-writer", password_hash="x",
                                             created_at=datetime.now(timezone.utc)))
    try:
        assert list(changes(before, db_engine)) == ["users"]
    finally:
        with db_engine.begin() as conn:
            conn.execute(sa.delete(users).where(users.c.username_key == "ghost-writer"))
