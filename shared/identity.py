"""The caller's identity as the gateway vouches for it to a tournament server.

The gateway sends `X-Platform-Identity` (base64url JSON: user id, username, roles, tournament id,
method, path, issue time, nonce, and for a logged-in browser the page-form CSRF token `ft` that the
server echoes into the forms it renders) and `X-Platform-Signature` (HMAC-SHA256 of that text with a
secret only the orchestrator and the servers know). A server accepts a write only with a valid,
fresh signature made for this tournament, method and path, and never the same nonce twice, so a
request captured on the wire or sent straight to the server's port gets nothing.
"""
import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import deque

IDENTITY_HEADER = "X-Platform-Identity"
SIGNATURE_HEADER = "X-Platform-Signature"
# The field of a page form that carries its CSRF token (the orchestrator's Flask-WTF field name).
FORM_TOKEN_FIELD = "form_csrf"
MAX_AGE_SECONDS = 30


class InvalidIdentity(Exception):
    """A signed identity that is missing, forged, stale, replayed or made for another request."""


def sign(secret, tournament_id, method, path, user=None, roles=(), now=None, form_token=None):
    """The two headers that vouch for `user` ({"id", "username"} or None) on this one request.

    `form_token` is the caller's session form token, for the server to put into its page forms:
    it never sees the session, and the signature keeps anyone else from choosing the token."""
    claims = {
        "tid": tournament_id, "m": method.upper(), "p": path,
        "uid": user["id"] if user else None, "un": user["username"] if user else None,
        "roles": sorted(roles), "iat": int(time.time() if now is None else now),
        "nonce": secrets.token_hex(12), "ft": form_token,
    }
    text = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode()
    return {IDENTITY_HEADER: text, SIGNATURE_HEADER: _mac(secret, text)}


def _mac(secret, text):
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


class IdentityVerifier:
    """Checks signed identities for one tournament; remembers nonces while they could be replayed."""

    def __init__(self, secret, tournament_id, max_age=MAX_AGE_SECONDS, first_use=None):
        """`first_use(nonce, ttl)`, when given, is a store shared across restarts (Redis) that
        answers whether a nonce is new; memory alone would forget them when the server restarts."""
        self.secret = secret
        self.tournament_id = tournament_id
        self.max_age = max_age
        self.first_use = first_use
        self._seen = {}  # nonce -> issue time
        self._arrivals = deque()  # (issue time, nonce), in the order they were seen
        self._lock = threading.Lock()

    def verify(self, headers, method, path, now=None):
        """The claims in `headers` (a mapping) for this request.

        :raise InvalidIdentity: saying what is wrong.
        """
        text, signature = headers.get(IDENTITY_HEADER), headers.get(SIGNATURE_HEADER)
        if not text or not signature:
            raise InvalidIdentity("the request carries no signed identity")
        if not hmac.compare_digest(_mac(self.secret, text), signature):
            raise InvalidIdentity("the identity signature is not valid")
        try:
            claims = json.loads(base64.urlsafe_b64decode(text.encode()))
        except (ValueError, binascii.Error):
            raise InvalidIdentity("the identity is not readable") from None
        now = time.time() if now is None else now
        if not isinstance(claims, dict) or not isinstance(claims.get("iat"), int):
            raise InvalidIdentity("the identity is not readable")
        if abs(now - claims["iat"]) > self.max_age:
            raise InvalidIdentity("the identity has expired")
        if claims.get("tid") != self.tournament_id:
            raise InvalidIdentity("the identity was made for another tournament")
        if claims.get("m") != method.upper() or claims.get("p") != path:
            raise InvalidIdentity("the identity was made for another request")
        with self._lock:
            self._forget_older_than(now - self.max_age)
            if claims.get("nonce") in self._seen:
                raise InvalidIdentity("the identity was already used")
            self._seen[claims.get("nonce")] = claims["iat"]
            self._arrivals.append((claims["iat"], claims.get("nonce")))
        if self.first_use is not None and not self.first_use(str(claims.get("nonce")), 2 * self.max_age):
            raise InvalidIdentity("the identity was already used")
        return claims

    def _forget_older_than(self, cutoff):
        # From the oldest arrival on, not a scan of every nonce: the scan cost each write a pass
        # over the last 30 s of writes (~6% of a server's CPU at 20 results/s). Issue times arrive
        # nearly in order; one a little older behind a newer one is forgotten a little later, never
        # sooner, and its own issue time refuses it by then anyway.
        while self._arrivals and self._arrivals[0][0] < cutoff:
            _issued, nonce = self._arrivals.popleft()
            self._seen.pop(nonce, None)
