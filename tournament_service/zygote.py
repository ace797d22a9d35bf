"""The preloaded parent of tournament servers (the zygote): one small process per instance folder
that has imported everything a tournament server runs and forks one child per tournament when
the orchestrator's subprocess spawner asks (shared/zygote_protocol.py).

A child starts in milliseconds instead of re-importing Flask, SQLAlchemy, gevent and the engine
(~0.6 s of a 0.7 s start), and shares those pages with the zygote and its siblings until it writes
to them (`gc.freeze()` keeps the collector from writing to every old object); the pages it did
write, it offers to the kernel's samepage merging (tournament_service/page_sharing.py). A child is the same
server as one started by exec: its own session, its own log, its own database and Redis
connections (none exists in the zygote), and the command line `run.py tournament --id ...` the
supervisor and the orphan sweep know it by.

The zygote never creates a gevent hub, a thread or a connection: it waits with the original,
blocking select/accept, so each child builds its hub and everything else after the fork. It leaves
after `idle_exit` seconds without a request (the supervisor says hello every few seconds, so it
lives as long as an orchestrator of this instance does); its children are not affected.
"""
import ctypes
import gc
import importlib
import logging
import logging.handlers
import mimetypes
import os
import random
import signal
import socket
import sys
import time

from gevent import monkey

from shared import zygote_protocol as protocol
from tournament_service import page_sharing

log = logging.getLogger("tournament_service.zygote")

# Blocking originals: gevent's versions would create a hub here, which every child would inherit.
_socket = monkey.get_original("socket", "socket")
_select = monkey.get_original("select", "select")
_fork = monkey.get_original("os", "fork")
_waitpid = monkey.get_original("os", "waitpid")
_signal = monkey.get_original("signal", "signal")
# gevent's os.close waits for the hub's loop, which never runs here: a pipe would never read EOF.
_close = monkey.get_original("os", "close")

FORK_ANSWER_TIMEOUT = 5.0


# What every server imports (its app factory, blueprints, engine, database and Redis drivers):
# loaded once here, found loaded by every child.
PRELOADED = ("psycogreen.gevent", "sqlalchemy.dialects.postgresql.psycopg2", "sqlalchemy.dialects.sqlite.pysqlite",
             "gevent.pywsgi", "tournament_service", "tournament_service.api", "tournament_service.forms",
             "tournament_service.metrics", "tournament_service.page_snapshot", "tournament_service.pages",
             "tournament_service.serve", "tournament_service.server", "tournament_service.engine.formats",
             # ...and what each of them imported on its own at its first connection, thread or name
             # lookup (a module imported in a child is all new memory of its own).
             "psycopg2.extras", "concurrent.futures.thread", "gevent.threadpool", "gevent.resolver.thread",
             "gevent.pool", "encodings.idna", "stringprep")


# The app every child finishes for its own tournament (tournament_service.build_app): routes, hooks,
# error handlers and compiled templates, no config and no connection. Built here once, so a child
# does not run (and so copy the pages of) Flask's set-up code and Jinja's compiler to make the
# same app again.
_base_app = None


def _warm():
    global _base_app
    for name in PRELOADED:
        importlib.import_module(name)
    import sqlalchemy

    from tournament_service import build_app, precompile

    _base_app = build_app()
    precompile(_base_app)
    # The patterns the psycopg2 dialect compiles when an engine is made (re's cache is inherited).
    # This engine never connects: it opens nothing a child could inherit.
    sqlalchemy.create_engine("postgresql+psycopg2://zygote@localhost/none").dispose()
    # The system's MIME table, which a server reads at its first static file or snapshot
    # (mimetypes.guess_type): 350 KiB of dicts (tracemalloc) each child would build for itself.
    mimetypes.init()


def _log_to(path):
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=1024 * 1024, backupCount=1)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s zygote[%(process)d]: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)


def _reap_children(*_):
    """SIGCHLD: collect servers that exited, so none lingers as a zombie while we live."""
    while True:
        try:
            pid, _status = _waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def rewrite_command_line(tail):
    """Make /proc/self/cmdline read `<interpreter> <run.py> *tail`, as an exec'd server's does.

    The new arguments are written over our own argv area (what setproctitle does), which the zygote
    was started with room in: the kernel reports that area as is, NUL-separated.
    """
    with open("/proc/self/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    arg_start, arg_end = int(fields[45]), int(fields[46])  # fields 48 and 49 of proc(5)
    with open("/proc/self/cmdline", "rb") as cmdline:
        head = cmdline.read().split(b"\0")[:2]
    new = b"\0".join([*head, *(arg.encode() for arg in tail)]) + b"\0"
    size = arg_end - arg_start
    if len(new) > size:
        raise RuntimeError(f"command line of {len(new)} bytes does not fit the zygote's {size}")
    ctypes.memmove(arg_start, new.ljust(size, b"\0"), size)


def _become_environ(environ):
    """Make os.environ `environ`, changing only what differs from the zygote's.

    A server's environment is mostly the zygote's (both come from the orchestrator's). Clearing
    and refilling it rewrote every entry's strings and the process's C environment to end up with
    nearly the same one: ~0.8 MiB of the zygote's pages copied at that step, though the server's
    later work copies most of them anyway (200 servers: 17.2 -> 17.1 MiB each in the end)."""
    for name in [name for name in os.environ if name not in environ]:
        del os.environ[name]
    for name, value in environ.items():
        if os.environ.get(name) != value:
            os.environ[name] = value


def _become_server(request, listen_fd, ready_fd):
    """In the child: detach, take the request's identity and environment, then serve (never returns)."""
    code = 1
    try:
        os.setsid()
        _signal(signal.SIGCHLD, signal.SIG_DFL)
        out = os.open(request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        _close(out)
        for handler in logging.getLogger().handlers[:]:  # the zygote's log is not ours
            logging.getLogger().removeHandler(handler)
            handler.close()
        tournament_id, host, port = str(request["tournament_id"]), str(request["host"]), int(request["port"])
        tail = ["tournament", "--id", tournament_id, "--host", host, "--port", str(port), "--listen-fd", str(listen_fd)]
        rewrite_command_line(tail)
        sys.argv = [sys.argv[0], *tail]
        _become_environ({str(k): str(v) for k, v in request["env"].items()})
        offer = page_sharing.offer_settings(os.environ)
        random.seed()  # the zygote's state is every sibling's: draw fresh
        _close(ready_fd)  # the zygote answers with our pid now: we look like a server from here on
        import gevent

        from tournament_service.serve import serve

        # Started before serve() makes its hub: gevent makes it here, the same one.
        gevent.spawn(page_sharing.keep_offering, *offer)
        serve(tournament_id, host, port, listen_fd=listen_fd, base_app=_base_app)
        code = 0
    except BaseException:
        try:
            sys.excepthook(*sys.exc_info())
            sys.stderr.flush()
        except BaseException:
            pass
    finally:
        try:
            logging.shutdown()
        finally:
            os._exit(code)


def _fork_server(request, fds, listener, conn):
    """Fork one server for `request` with the listening socket in `fds`; returns its pid."""
    if len(fds) != 1 or not isinstance(request.get("env"), dict):
        raise ValueError("a fork takes one listening socket and an env object")
    ready_read, ready_write = os.pipe()
    pid = _fork()
    if pid == 0:
        _close(ready_read)
        listener.close()
        conn.close()
        _become_server(request, fds[0], ready_write)
    _close(ready_write)
    _close(fds[0])
    try:
        # Answer only once the child reads as a server (detached, its command line rewritten):
        # the orchestrator signals only processes whose command line names the tournament.
        if _select([ready_read], [], [], FORK_ANSWER_TIMEOUT)[0]:
            os.read(ready_read, 1)
        else:
            log.warning("server %d for %s did not get ready within %.0fs", pid, request.get("tournament_id"),
                        FORK_ANSWER_TIMEOUT)
    finally:
        _close(ready_read)
    return pid


def _answer(conn, listener, stamp):
    """Handle one request on `conn`; returns False when the zygote is to leave."""
    conn.settimeout(FORK_ANSWER_TIMEOUT)
    if not protocol.same_user(conn):
        log.warning("refused a request from another user")
        return True
    try:
        request, fds = protocol.receive(conn, close=_close)
    except (ValueError, OSError) as exc:
        log.warning("unreadable request: %s", exc)
        return True
    op = request.get("op")
    if op == "fork":
        if request.get("stamp") != stamp:
            for fd in fds:
                _close(fd)
            protocol.send(conn, {"error": "the zygote runs other code than the asker (its files or PYTHON* "
                                          "settings changed); it is leaving"})
            log.info("the asker's code stamp differs: leaving, a new zygote will load its code")
            return False
        try:
            pid = _fork_server(request, fds, listener, conn)
        except (ValueError, KeyError, TypeError, OSError) as exc:
            for fd in fds:
                try:
                    _close(fd)
                except OSError:
                    pass
            protocol.send(conn, {"error": f"fork failed: {exc}"})
            return True
        log.info("forked server %d for %s on port %s", pid, request["tournament_id"], request["port"])
        protocol.send(conn, {"pid": pid})
        return True
    for fd in fds:
        _close(fd)
    protocol.send(conn, {"pid": os.getpid(), "stamp": stamp})
    return op != "exit"


def main(instance_path, idle_exit):
    """Warm up, listen on this instance folder's zygote socket and fork servers until idle."""
    stamp = protocol.code_stamp(sys.executable, os.environ)  # before importing: what we are about to load
    log_dir = os.path.join(instance_path, "logs")
    os.makedirs(log_dir, exist_ok=True)
    _log_to(os.path.join(log_dir, "zygote.log"))
    started = time.perf_counter()
    _warm()
    listener = _socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(protocol.address(instance_path))
    except OSError as exc:  # another zygote of this instance was quicker: it serves
        log.info("another zygote listens already (%s); leaving", exc)
        return 0
    listener.listen(64)
    _signal(signal.SIGCHLD, _reap_children)
    gc.collect()
    gc.freeze()  # what is loaded now stays shared with the children: the collector won't touch it
    log.info("ready in %.0f ms (code %s)", (time.perf_counter() - started) * 1000, stamp)
    last_request = time.monotonic()
    while True:
        idle = time.monotonic() - last_request
        if idle >= idle_exit:
            log.info("no request for %.0fs; leaving (the servers stay)", idle)
            return 0
        if not _select([listener], [], [], idle_exit - idle)[0]:
            continue
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        last_request = time.monotonic()
        with conn:
            try:
                if not _answer(conn, listener, stamp):
                    return 0
            except OSError as exc:
                log.warning("request failed: %s", exc)
