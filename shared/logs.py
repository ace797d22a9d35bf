"""Logs of both services: one JSON object a line (or a developer's console), each with its request's id.

`configure` puts structlog's ProcessorFormatter on the standard library's root logger, so every
`logging.getLogger(__name__)` call in the code comes out in the same shape as structlog's own
loggers. `RequestIds` is the WSGI middleware that gives each request its id (the caller's
`X-Request-ID` when it is safe, else a new one), binds it for every log line the request makes,
returns it in the answer and logs one access line when the answer is done.
"""
import json
import logging
import logging.handlers
import re
import sys
import threading
import time
import uuid

import structlog
from structlog.contextvars import bind_contextvars, clear_contextvars, get_contextvars

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_ENVIRON = "HTTP_X_REQUEST_ID"
# What we accept from a caller: short, and nothing a log viewer, a terminal or a header could
# misread (no spaces, quotes, control characters). Anything else is replaced, never echoed.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
FORMATS = ("json", "console")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_ROTATE_BYTES, _ROTATED_KEPT = 5 * 1024 * 1024, 3
# Locals stay out of logged tracebacks: a frame's locals may hold a password or a token.
_structured_exceptions = structlog.processors.ExceptionRenderer(
    structlog.tracebacks.ExceptionDictTransformer(show_locals=False, max_frames=20))


class BadLogSetting(ValueError):
    """LOG_FORMAT or LOG_LEVEL names nothing we know: the service refuses to start, saying why."""


def settings_from_env(environ):
    """LOG_FORMAT (json|console; unset: console on a terminal, else json) and LOG_LEVEL (INFO)."""
    return {"LOG_FORMAT": environ.get("LOG_FORMAT") or None, "LOG_LEVEL": environ.get("LOG_LEVEL") or "INFO"}


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a line is written (pytest swaps it for each test)."""

    def __init__(self):
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr


def _shared_processors():
    """What every line gets, from structlog's loggers and the standard library's alike."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


_FIRST_KEYS = ("timestamp", "level", "logger", "message", "request_id")


def _reading_order(_logger, _method, event_dict):
    """The keys every line has come first, then the line's own: easier on a person reading the file."""
    return {**{key: event_dict[key] for key in _FIRST_KEYS if key in event_dict}, **event_dict}


def formatter(log_format, colors=False):
    """The logging.Formatter that renders any record as `log_format` (json or console, in `colors`)."""
    if log_format == "json":
        renderer = [_structured_exceptions, structlog.processors.EventRenamer("message"), _reading_order,
                    structlog.processors.JSONRenderer()]
    else:
        renderer = [structlog.dev.ConsoleRenderer(colors=colors)]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer])


def configure(log_format=None, level="INFO", path=None):
    """Send every log line of this process to stderr, or to the rotated file at `path`, as
    `log_format` (None: console when stderr is a terminal, json otherwise), from `level` up.
    Calling it again replaces what the last call installed.

    :raise BadLogSetting: for an unknown format or level.
    """
    if log_format is None:
        log_format = "console" if path is None and sys.stderr.isatty() else "json"
    if log_format not in FORMATS:
        raise BadLogSetting(f"LOG_FORMAT is {log_format!r}: it must be one of {', '.join(FORMATS)}")
    level = str(level).upper()
    if level not in LEVELS:
        raise BadLogSetting(f"LOG_LEVEL is {level!r}: it must be one of {', '.join(LEVELS)}")
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *_shared_processors(),
                    structlog.stdlib.PositionalArgumentsFormatter(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True)
    if path is None:
        handler = _StderrHandler()
    else:
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=_ROTATE_BYTES, backupCount=_ROTATED_KEPT)
    handler.setFormatter(formatter(log_format, colors=path is None and sys.stderr.isatty()))
    handler.name = "tournament-platform"
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.name == handler.name]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # a library's warning is a log line like any other, not raw stderr
    # A thread's death too (threads are greenlets under gevent), unless someone else (pytest)
    # watches for it.
    if threading.excepthook in (threading.__excepthook__, _log_thread_crash):
        threading.excepthook = _log_thread_crash
    return log_format


def _log_thread_crash(args):
    logging.getLogger("threading").error("thread %s died", getattr(args.thread, "name", "?"),
                                         exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


def exception_of(line):
    """`Type: message` of the exception a JSON log line carries, else None (any other line)."""
    if '"exception"' not in line:
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    chain = record.get("exception") if isinstance(record, dict) else None
    if not isinstance(chain, list) or not chain or not isinstance(chain[0], dict):
        return None
    return f"{chain[0].get('exc_type')}: {chain[0].get('exc_value')}"  # the raised one; its causes follow


def accepted_request_id(value):
    """`value` when it is a safe request id (1-64 of letters, digits, `._:-`), else a new one."""
    if value and _SAFE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def current_request_id():
    """The id of the request this code runs for, or None (the supervisor, a timer, a test)."""
    return get_contextvars().get("request_id")


def request_id_header():
    """The header that passes the current request's id on to another service ({} outside a request)."""
    request_id = current_request_id()
    return {REQUEST_ID_HEADER: request_id} if request_id else {}


class RequestIds:
    """WSGI middleware: each request gets its id bound for its log lines, in its answer's
    X-Request-ID and in one access line (DEBUG for `quiet_paths`, INFO otherwise) when its
    answer has been sent: the duration is the whole answer's, a stream's lifetime included."""

    def __init__(self, wsgi_app, logger_name, quiet_paths=()):
        self.wsgi_app = wsgi_app
        self.log = structlog.stdlib.get_logger(logger_name)
        self.quiet_paths = frozenset(quiet_paths)

    def __call__(self, environ, start_response):
        request_id = accepted_request_id(environ.get(_REQUEST_ID_ENVIRON))
        environ[_REQUEST_ID_ENVIRON] = request_id  # what the app reads is what we answer with
        # Each greenlet has its own context, but one greenlet serves a keep-alive connection's
        # requests one after the other: start every request afresh.
        clear_contextvars()
        bind_contextvars(request_id=request_id)
        started, status = time.perf_counter(), []

        def start(status_line, headers, exc_info=None):
            status[:] = [status_line]
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status_line, headers, exc_info)

        def access_line():
            path = environ.get("PATH_INFO", "")
            code = int(status[0].split(" ", 1)[0]) if status else 500
            log = self.log.debug if path in self.quiet_paths else self.log.info
            log("request", method=environ.get("REQUEST_METHOD"), path=environ.get("SCRIPT_NAME", "") + path,
                status=code, duration_ms=round((time.perf_counter() - started) * 1000, 1))

        try:
            body = self.wsgi_app(environ, start)
        except BaseException:
            access_line()
            raise
        return _Answer(body, access_line)


class _Answer:
    """The app's answer, passed through; the access line is logged when the server closes it."""

    def __init__(self, body, on_close):
        self.body, self.on_close = body, on_close

    def __iter__(self):
        return iter(self.body)

    def close(self):
        try:
            if hasattr(self.body, "close"):
                self.body.close()
        finally:
            self.on_close()
