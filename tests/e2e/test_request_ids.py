"""A request's id, from the client through the orchestrator and the gateway to the tournament
server: in both processes' JSON logs, in the answer, and stored with the events it caused."""
import json
import re
import uuid
from pathlib import Path

import sqlalchemy as sa

from shared.db.tables import tournament_events
from tests.support.api import make_tournament, ok
from tests.support.processes import wait_until

GENERATED = re.compile(r"[0-9a-f]{32}")


def json_lines(text):
    """Every line of a log, parsed: a line that is not one JSON object fails the test."""
    lines = []
    for line in text.splitlines():
        parsed = json.loads(line)
        assert isinstance(parsed, dict), line
        lines.append(parsed)
    return lines


def lines_with(text, request_id):
    return [line for line in json_lines(text) if line.get("request_id") == request_id]


def server_log(platform_env, tournament_id):
    path = Path(platform_env["INSTANCE_PATH"]) / "logs" / f"tournament-{tournament_id}.log"
    return path.read_text()


def stored_events(db_engine, tournament_id):
    with db_engine.connect() as conn:
        return conn.execute(sa.select(tournament_events.c.seq, tournament_events.c.type, tournament_events.c.request_id)
                            .where(tournament_events.c.tournament_id == tournament_id)
                            .order_by(tournament_events.c.seq)).all()


def access_line(lines, logger):
    found = [line for line in lines if line["logger"] == logger and line["message"] == "request"]
    assert len(found) == 1, lines
    return found[0]


def test_a_results_request_id_is_in_both_logs_and_stored_with_the_events_it_caused(
        start_orchestrator, platform_env, db_engine):
    orchestrator = start_orchestrator()
    api = orchestrator.api
    tid = make_tournament(api, state="ACTIVE", teams=4)["id"]
    match = ok(api.get(f"/t/{tid}/api/matches", params={"status": "pending"}))["items"][0]
    request_id = f"e2e-{uuid.uuid4()}"
    before = stored_events(db_engine, tid)

    answer = api.post(f"/t/{tid}/api/matches/{match['id']}/result", {"winner": match["team1_id"]},
                      headers={"X-Request-ID": request_id})

    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Request-ID"] == request_id
    caused = [row for row in stored_events(db_engine, tid) if row.seq > before[-1].seq]
    assert "match_result" in [row.type for row in caused]
    assert {row.request_id for row in caused} == {request_id}
    # Written by the server at its first start, no request: no id. Each registration: its own.
    assert [row.request_id for row in before if row.type in ("tournament_published", "state_changed")][0] is None
    registered = [row.request_id for row in before if row.type == "team_registered"]
    assert len(set(registered)) == 4 and all(GENERATED.fullmatch(rid) for rid in registered)

    path = f"/t/{tid}/api/matches/{match['id']}/result"
    assert wait_until(lambda: lines_with(orchestrator.log(), request_id))
    line = access_line(lines_with(orchestrator.log(), request_id), "orchestrator.access")
    assert (line["method"], line["path"], line["status"], line["level"]) == ("POST", path, 200, "info")
    assert line["duration_ms"] > 0 and line["timestamp"].endswith("Z")
    assert wait_until(lambda: lines_with(server_log(platform_env, tid), request_id))
    line = access_line(lines_with(server_log(platform_env, tid), request_id), "tournament_service.access")
    assert (line["method"], line["path"], line["status"]) == ("POST", f"/api/matches/{match['id']}/result", 200)
    # The supervisor's health checks (every second) stay out of an INFO log.
    assert not [line for line in json_lines(server_log(platform_env, tid)) if line.get("path") == "/api/health"]

    # The organizer's cancel is forwarded by the orchestrator itself, with the request's id.
    cancel_id = f"e2e-cancel-{uuid.uuid4().hex}"
    last = stored_events(db_engine, tid)[-1].seq
    ok(api.post(f"/api/v1/tournaments/{tid}/cancel", headers={"X-Request-ID": cancel_id}))
    cancelled = [row for row in stored_events(db_engine, tid) if row.seq > last]
    assert "state_changed" in [row.type for row in cancelled] and {row.request_id for row in cancelled} == {cancel_id}


def test_an_unsafe_request_id_is_replaced_and_never_echoed_or_logged(start_orchestrator, platform_env):
    orchestrator = start_orchestrator()
    api = orchestrator.api
    tid = make_tournament(api, state="REGISTRATION", teams=1)["id"]
    for unsafe in ("x" * 65, "evil\x1b[31mred", 'id" "level": "critical'):
        answer = api.get(f"/t/{tid}/api/teams", headers={"X-Request-ID": unsafe})
        assert answer.status_code == 200, answer.text
        given = answer.headers["X-Request-ID"]
        assert given != unsafe and GENERATED.fullmatch(given)
        # The replacement is what the gateway passed on: the server logged the same id.
        assert wait_until(lambda: lines_with(server_log(platform_env, tid), given))
        assert wait_until(lambda: lines_with(orchestrator.log(), given))
    logged = orchestrator.log() + server_log(platform_env, tid)
    assert "x" * 65 not in logged and "evil" not in logged and '\\"level\\"' not in logged
