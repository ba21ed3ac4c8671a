"""The reference unlock decision of a lock: pure, time passed in; the function a firmware team ports.

Given the decoded unlock request and the lock's state, it answers one result code. The order is fixed so
that a lock reveals nothing about the gas state or its trust to an unauthenticated central:
provisioned? → the challenge → the token and proof of possession (``protocols.token``) → the gas
precondition. Proximity is never authentication: only the holder key's signature over a fresh, unused
challenge of this lock opens it. The caller spends the challenge whatever the decision.

There is no lock-wide backoff: tokens and PoPs are Ed25519 signatures, so guessing is hopeless, and a backoff
anyone in radio range could trigger would lock the holder out. Refused requests cost their sender's link
instead (``protocols.padlock.results.UNPROVEN_RESULTS``, ``padlock.md`` §5): the lock drops it, and reports
repeated ones as an ``abuse`` event. A valid token with a valid PoP on a fresh challenge always opens.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from protocols.errors import GattError, ProtocolError
from protocols.padlock.challenges import PendingChallenge, challenge_problem
from protocols.padlock.gatt import CHALLENGE_TTL_S, MAX_ATTESTATION_AGE_S
from protocols.padlock.messages import Purpose, UnlockRequest
from protocols.padlock.pushes import LockTrust, verify_gas_attestation
from protocols.revocation import RevocationList
from protocols.token import DEFAULT_SKEW_S, REJECTION_CODES, PermitClaims, check_unlock


@dataclass(frozen=True, slots=True)
class UnlockDecision:
    result: str  # a name from protocols.padlock.results.RESULT_CODES
    claims: PermitClaims | None = None  # the verified claims when the result is "ok"

    @property
    def ok(self) -> bool:
        return self.result == "ok"


def decide_unlock(request: UnlockRequest, *, now: int, trust: LockTrust | None, challenge: PendingChallenge | None,
                  revocations: RevocationList | None, attestation: bytes | None,
                  skew_s: int = DEFAULT_SKEW_S, challenge_ttl_s: int = CHALLENGE_TTL_S) -> UnlockDecision:
    """Decide an unlock request at the lock's trusted time ``now``.

    ``attestation`` is the signed gas attestation the lock holds (or None). The challenge is checked before
    any signature, so a request answering no challenge costs the lock nothing but a comparison.
    """
    if trust is None:
        return UnlockDecision("not_provisioned")
    problem = challenge_problem(challenge, nonce=request.nonce, purpose=Purpose.UNLOCK, lock_id=trust.lock_id,
                                now=now, ttl_s=challenge_ttl_s)
    if problem or challenge is None:
        return UnlockDecision(problem or "challenge_unknown_or_used")
    try:
        claims = check_unlock(request.token, request.pop_signature, challenge.challenge.encode(),
                              issuer_keys=trust.issuer_keys, now=now, lock_id=trust.lock_id, revocations=revocations,
                              skew_s=skew_s)
    except ProtocolError as exc:  # TokenError by contract; any other format error is a malformed token
        return UnlockDecision(exc.code if exc.code in REJECTION_CODES else "malformed")
    if claims.gas_test_required:
        gas = gas_problem(attestation, gateway_key=trust.gateway_key, space_id=claims.space_id, now=now,
                          skew_s=skew_s)
        if gas:
            return UnlockDecision(gas)
    return UnlockDecision("ok", claims)


def gas_problem(attestation: bytes | None, *, gateway_key: Ed25519PublicKey, space_id: bytes, now: int,
                skew_s: int = DEFAULT_SKEW_S) -> str | None:
    """None when ``attestation`` shows all gases in range in ``space_id``, signed by the gateway, measured within
    the last 30 minutes and not past its ``valid_until``; else the result code refusing the unlock."""
    if attestation is None:
        return "gas_test_required"
    try:
        att = verify_gas_attestation(attestation, gateway_key=gateway_key)
    except GattError:
        return "gas_test_required"
    if att.space_id != space_id:
        return "gas_test_required"
    if now > att.valid_until or now - att.measured_at > MAX_ATTESTATION_AGE_S or att.measured_at > now + skew_s:
        return "attestation_stale"
    if not att.all_in_range:
        return "gas_out_of_range"
    return None

