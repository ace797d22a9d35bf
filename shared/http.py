"""HTTP hygiene both services apply to every response."""

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def add_security_headers(response):
    """after_request hook: the headers above, unless the response set its own."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


# On a tournament server's answer: "this is what every viewer gets, as of this seq of the
# tournament (or a later one)". The orchestrator shares only answers that carry it.
SHARED_FRAGMENT_SEQ_HEADER = "X-Fragment-Seq"
