"""The padlock's result codes in words a worker at the hatch understands (and what to do next)."""

from __future__ import annotations

from protocols.padlock import messages as m

RESULT_WORDS: dict[str, str] = {
    "ok": "unlocked: the padlock opened",
    "malformed": "refused: the permit token is damaged or not a SafeGrid token",
    "bad_signature": "refused: the permit token's signature is not valid",
    "unknown_kid": "refused: the permit was signed by a key this padlock does not trust",
    "expired": "refused: the permit has expired",
    "not_yet_valid": "refused: the permit's work window has not started yet",
    "wrong_lock": "refused: the permit is not for this padlock",
    "bad_pop": "refused: this phone does not hold the key the permit was issued to",
    "revoked": "refused: the permit has been revoked",
    "gas_test_required": "refused: the permit needs a gas test of this space first",
    "attestation_stale": "refused: the last gas test is too old; test the atmosphere again",
    "gas_out_of_range": "refused: the gas test shows the atmosphere is not safe",
    "challenge_unknown_or_used": "refused: the exchange was out of step; try again",
    "challenge_expired": "refused: the exchange took too long; try again",
    "backoff": "refused: too many failed attempts; wait before trying again",
    "not_provisioned": "refused: the padlock has not been set up yet",
    "busy": "the padlock is busy; try again in a moment",
    "bad_request": "the padlock could not read the request; try again",
    "unsupported": "the padlock does not support this request",
    "stale": "refused: the padlock already holds newer data",
    "not_in_provisioning_mode": "refused: the padlock is not in provisioning mode",
    "deferred": "accepted: takes effect when the open session closes",
}


def result_in_words(result: m.Result) -> str:
    words = RESULT_WORDS[result.code]
    if result.retry_after is not None:
        words += f" (retry after {result.retry_after} s)"
    return f"{result.code}: {words}"
