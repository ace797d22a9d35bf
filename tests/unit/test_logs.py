"""The log format both services share (shared/logs.py): what a line holds, and each request's id."""
import json
import logging
import threading

import gevent
import pytest
import structlog

from shared import logs


@pytest.fixture
def json_logs(capsys):
    """Logs configured as in production; returns a function giving the lines written since."""
    logs.configure("json", "INFO")

    def lines():
        return [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    return lines


def test_a_standard_library_error_is_one_json_line_with_the_exception_as_a_field(json_logs):
    structlog.contextvars.bind_contextvars(request_id="req-1")
    try:
        try:
            {}["team_7"]
        except KeyError:
            logging.getLogger("tournament_service.server").exception("the reminder of %s failed", "t_ab12")
    finally:
        structlog.contextvars.clear_contextvars()
    [line] = json_lines = json_logs()
    assert list(line)[:5] == ["timestamp", "level", "logger", "message", "request_id"], json_lines
    assert line["message"] == "the reminder of t_ab12 failed" and line["level"] == "error"
    assert line["logger"] == "tournament_service.server" and line["request_id"] == "req-1"
    assert line["timestamp"].endswith("Z")
    [error] = line["exception"]
    assert error["exc_type"] == "KeyError" and error["exc_value"] == "'team_7'"
    assert error["frames"][-1]["name"] == "test_a_standard_library_error_is_one_json_line_with_the_exception_as_a_field"
    assert "locals" not in error["frames"][-1]  # a frame's locals may hold a password


def test_lines_below_the_level_are_dropped_and_fields_kept(json_logs):
    logging.getLogger("orchestrator.supervisor").debug("checked %d servers", 3)
    structlog.stdlib.get_logger("orchestrator.access").info("request", status=201)
    logging.getLogger("shared.pubsub").warning("redis away", extra={"channel": "global:announcements"})
    lines = json_logs()
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("orchestrator.access", "request"), ("shared.pubsub", "redis away")]
    assert lines[0]["status"] == 201 and "request_id" not in lines[0]
    assert lines[1]["channel"] == "global:announcements"


@pytest.mark.parametrize(("setting", "value"), [("LOG_FORMAT", "xml"), ("LOG_LEVEL", "LOUD")])
def test_an_unknown_setting_is_refused_by_name(setting, value):
    given = {"LOG_FORMAT": "json", "LOG_LEVEL": "INFO", setting: value}
    with pytest.raises(logs.BadLogSetting, match=f"{setting} is '{value}'"):
        logs.configure(given["LOG_FORMAT"], given["LOG_LEVEL"])


@pytest.mark.parametrize("unsafe", ["", "x" * 65, "a b", "evil\x1b[31m", "id\n{\"level\":\"critical\"}", "é"])
def test_an_unsafe_request_id_is_replaced(unsafe):
    replaced = logs.accepted_request_id(unsafe)
    assert replaced != unsafe and len(replaced) == 32


def test_a_safe_request_id_is_kept():
    assert logs.accepted_request_id("9f1c-req:42.a_b") == "9f1c-req:42.a_b"
    assert logs.accepted_request_id("x" * 64) == "x" * 64


def test_concurrent_requests_in_greenlets_each_log_their_own_id(json_logs):
    """gevent serves each connection in its own greenlet; a request that waits must not lose its
    id to the one that ran meanwhile, nor leave it to the next."""
    def app(environ, start_response):
        gevent.sleep(0.02 if environ["PATH_INFO"] == "/slow" else 0)
        logging.getLogger("tournament_service.api").info("serving %s", environ["PATH_INFO"])
        start_response("200 OK", [("X-Request-ID", "from-the-app")])
        return [b"ok"]

    served = logs.RequestIds(app, "test.access", quiet_paths=("/api/health",))

    def request(path, request_id):
        headers = {}
        answer = served({"PATH_INFO": path, "REQUEST_METHOD": "GET", "HTTP_X_REQUEST_ID": request_id},
                        lambda status, response_headers, exc_info=None: headers.update(response_headers))
        b"".join(answer)
        answer.close()
        return headers["X-Request-ID"]

    jobs = [gevent.spawn(request, "/slow", "req-slow"), gevent.spawn(request, "/fast", "req-fast"),
            gevent.spawn(request, "/api/health", None)]
    gevent.joinall(jobs, raise_error=True)
    health_id = jobs[2].value
    assert [job.value for job in jobs[:2]] == ["req-slow", "req-fast"] and len(health_id) == 32
    lines = json_logs()
    assert {(line["request_id"], line["message"]) for line in lines if line["logger"] == "tournament_service.api"} == {
        (health_id, "serving /api/health"), ("req-fast", "serving /fast"), ("req-slow", "serving /slow")}
    access = {line["request_id"]: line for line in lines if line["logger"] == "test.access"}
    assert set(access) == {"req-fast", "req-slow"}  # the health check's is DEBUG
    assert access["req-slow"]["status"] == 200 and access["req-slow"]["duration_ms"] >= 20


def test_a_crashed_containers_json_log_names_its_error(json_logs):
    """The spawners report why a container exited from its last lines: a JSON line's exception."""
    from orchestrator.spawners.docker import error_line

    try:
        try:
            raise ConnectionRefusedError("port 5432")
        except ConnectionRefusedError as cause:
            raise RuntimeError("the database can't be reached") from cause
    except RuntimeError:
        logging.getLogger().critical("tournament server crashed", exc_info=True)
    crash = json.dumps(json_logs()[0])
    output = f'{{"level": "info", "message": "starting"}}\n{crash}\n{{"level": "info", "message": "bye"}}\n'
    assert error_line(output.encode()) == "RuntimeError: the database can't be reached"
    assert error_line(b"Traceback (most recent call last):\n  File x\nKeyError: 'x'\n") == "KeyError: 'x'"
    assert error_line(b"just a line\n") == "just a line"


def test_a_thread_that_dies_leaves_one_json_line(capsys, monkeypatch):
    monkeypatch.setattr(threading, "excepthook", threading.__excepthook__)  # as outside pytest
    logs.configure("json", "INFO")

    def fail():
        raise ValueError("bad seed")
    worker = threading.Thread(target=fail, name="reminder")
    worker.start()
    worker.join()
    [line] = [json.loads(text) for text in capsys.readouterr().err.splitlines()]
    assert line["message"] == "thread reminder died" and line["exception"][0]["exc_type"] == "ValueError"
