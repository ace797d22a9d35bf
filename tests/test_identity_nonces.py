"""A tournament server's memory of used identity nonces (shared/identity.IdentityVerifier): every
fresh identity is accepted once, and the memory forgets them only once they have expired."""
import pytest

from shared.identity import IdentityVerifier, InvalidIdentity, sign

SECRET = "nonce-test-secret-0123456789abcdef"
PATH = "/api/teams"


def identity(issued):
    return sign(SECRET, "t_nonces", "POST", PATH, {"id": 1, "username": "ann"}, now=issued)


def test_a_replay_is_refused_until_it_expires_whatever_came_between_and_in_whatever_order():
    verifier = IdentityVerifier(SECRET, "t_nonces", max_age=30)
    kept = identity(1000)
    verifier.verify(kept, "POST", PATH, now=1000)
    # Identities issued out of order (several orchestrators' clocks), over most of the window.
    for second in range(1000, 1029):
        for issued in (second + 1, second - 1):
            verifier.verify(identity(issued), "POST", PATH, now=second)
        with pytest.raises(InvalidIdentity, match="already used"):
            verifier.verify(kept, "POST", PATH, now=second)
    with pytest.raises(InvalidIdentity, match="expired"):
        verifier.verify(kept, "POST", PATH, now=1031)


def test_expired_nonces_are_forgotten():
    verifier = IdentityVerifier(SECRET, "t_nonces", max_age=30)
    for issued in range(1000, 1100):
        verifier.verify(identity(issued), "POST", PATH, now=issued)
    # Only the last max_age seconds' nonces are still remembered (a replay older is expired anyway).
    assert len(verifier._seen) <= 32
