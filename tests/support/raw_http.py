"""Raw HTTP on a socket, for test servers that must misbehave in ways a real one would not."""


def read_head(conn, chunk=4096):
    """The request's bytes up to and including its blank line (what came of it if the peer
    closed first; b"" when nothing came)."""
    head = b""
    while b"\r\n\r\n" not in head:
        data = conn.recv(chunk)
        if not data:
            break
        head += data
    return head
