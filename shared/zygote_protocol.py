"""How the orchestrator's subprocess spawner talks to the preloaded parent of tournament servers
(the zygote, tournament_service/zygote.py) over a local unix socket.

One request per connection: a JSON object, with at most one file descriptor alongside it
(SCM_RIGHTS: the listening socket the new server is to serve on); the client then shuts its
sending side, and the zygote answers with one JSON object and closes. Requests:

- `{"op": "hello"}` -> `{"pid": zygote pid, "stamp": code stamp}`: is it there, and does it run
  the code on disk now;
- `{"op": "fork", "tournament_id", "host", "port", "env", "out"}` + the listener ->
  `{"pid": server pid}` or `{"error": "..."}`;
- `{"op": "exit"}` -> `{"pid": ...}`, then the zygote leaves (its servers stay).
"""
import hashlib
import json
import os
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_MESSAGE = 1 << 20
# What a forked server runs: the stamp changes when any of it does on disk, and a zygote whose
# stamp differs from the files' is retired (it would fork servers of the old code).
_CODE = ("run.py", "requirements.txt", "shared", "tournament_service")
# The templates are compiled in the zygote too (tournament_service.precompile).
_TEMPLATES = "tournament_service/templates"


def address(instance_path):
    """The zygote's socket of this instance folder: one per deployment on a machine. Abstract
    (Linux): no file to go stale, and no 108-byte path limit for deep instance folders; who may
    talk to it is checked by the peer's uid instead (`same_user`)."""
    digest = hashlib.sha256(os.path.realpath(instance_path).encode()).hexdigest()[:20]
    return "\0tournament-platform-zygote-" + digest


def code_stamp(executable, environ):
    """A digest of the interpreter, the PYTHON* variables of `environ` (PYTHONPATH, say: they
    change what an interpreter loads at its start), and every source file a tournament server
    imports from this checkout and its templates (paths, sizes, modification times: a few ms for
    ~180 files)."""
    digest = hashlib.sha256(executable.encode())
    for name in sorted(name for name in environ if name.startswith("PYTHON")):
        digest.update(f"{name}={environ[name]}\n".encode())
    paths = []
    for name in _CODE:
        top = ROOT / name
        paths += [top] if top.is_file() else sorted(top.rglob("*.py"))
    paths += sorted(path for path in (ROOT / _TEMPLATES).rglob("*") if path.is_file())
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def same_user(conn):
    """True when the peer of unix socket `conn` runs as our uid (SO_PEERCRED)."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    _pid, uid, _gid = (int.from_bytes(creds[at:at + 4], "little") for at in (0, 4, 8))
    return uid == os.getuid()


def send(conn, message, fds=()):
    """Send one JSON message (with `fds`) and shut our sending side: the message ends there."""
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(conn, [data], list(fds))
    else:
        conn.sendall(data)
    conn.shutdown(socket.SHUT_WR)


def receive(conn, close=os.close):
    """(message, [fd, ...]) of one message sent with `send`; `close` closes the fds of a bad one.

    :raise ValueError: it is not one JSON object, or is larger than 1 MiB.
    """
    data, fds, _flags, _addr = socket.recv_fds(conn, 65536, 1)
    chunks, size = [data], len(data)
    while data:
        data = conn.recv(65536)
        chunks.append(data)
        size += len(data)
        if size > MAX_MESSAGE:
            break
    try:
        if size > MAX_MESSAGE:
            raise ValueError("message too large")
        message = json.loads(b"".join(chunks))
        if not isinstance(message, dict):
            raise ValueError("not a JSON object")
    except ValueError:
        for fd in fds:
            close(fd)
        raise
    return message, fds
