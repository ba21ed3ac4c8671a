"""The stable table of result codes a lock answers with (numbers on the wire, names in code and logs).

Token rejections keep the names of ``protocols.token.REJECTION_CODES``. Numbers never change meaning;
new codes take new numbers.
"""

from __future__ import annotations

from protocols.errors import GattError

RESULT_CODES: dict[str, int] = {
    "ok": 0,
    # the permit token and proof of possession (protocols.token)
    "malformed": 1,
    "bad_signature": 2,
    "unknown_kid": 3,
    "expired": 4,
    "not_yet_valid": 5,
    "wrong_lock": 6,
    "bad_pop": 7,
    "revoked": 8,
    # the gas precondition of a permit that demands a gas test
    "gas_test_required": 16,  # no attestation for the permit's space signed by the trusted gateway
    "attestation_stale": 17,  # measured over 30 minutes ago, past its valid_until, or in the future
    "gas_out_of_range": 18,  # the attestation says not all gases are in range
    # the exchange
    "challenge_unknown_or_used": 32,
    "challenge_expired": 33,
    "backoff": 34,  # retired: a v1 lock never answers it (refused attempts cost the link, not the holder)
    "not_provisioned": 35,
    "busy": 36,  # the lock is mid-operation; retry shortly
    "bad_request": 37,  # undecodable message or fragment stream
    "unsupported": 38,  # a message type this lock does not handle
    # pushes
    "stale": 48,  # a trust list or revocation list not newer than the one held
    "not_in_provisioning_mode": 49,
    "deferred": 50,  # accepted; takes effect when the open session closes (never lock people in)
}
RESULT_NAMES: dict[int, str] = {number: name for name, number in RESULT_CODES.items()}

#: Refusals of a request that proves nothing about its sender: an undecodable message, or an unlock request
#: without a fresh challenge of this lock or without a valid token and PoP for it. Each costs the sender's link
#: (``JUNK_PER_LINK`` of them and the lock drops it) and counts towards an ``abuse`` event; none ever delays
#: another central. Gas and state refusals are not junk: a holder waiting for the gas is no attacker.
UNPROVEN_RESULTS = frozenset({
    "malformed", "bad_signature", "unknown_kid", "expired", "not_yet_valid", "wrong_lock", "bad_pop", "revoked",
    "challenge_unknown_or_used", "challenge_expired", "bad_request", "unsupported",
})


def result_number(name: str) -> int:
    try:
        return RESULT_CODES[name]
    except KeyError:
        raise GattError(f"unknown result code {name!r}", field="code") from None


def result_name(number: int) -> str:
    try:
        return RESULT_NAMES[number]
    except (KeyError, TypeError):
        raise GattError(f"unknown result code number {number!r}", field="code") from None


def push_result(error: Exception) -> str:
    """The result a lock answers for a refused push or request: the error's code when it is a result code,
    otherwise ``bad_request`` (a push that does not decode is a bad request, not a malformed token)."""
    code = getattr(error, "code", None)
    return code if code in RESULT_CODES and code not in ("ok", "malformed") else "bad_request"
