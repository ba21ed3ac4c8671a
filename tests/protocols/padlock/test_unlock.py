"""The reference unlock decision: every result code, its order, and no backoff a stranger could trigger."""

from __future__ import annotations

from protocols.padlock import messages as m
from protocols.padlock.challenges import PendingChallenge
from protocols.padlock.events import EventPermit
from protocols.padlock.pushes import LockTrust
from protocols.padlock.results import RESULT_CODES, UNPROVEN_RESULTS
from protocols.padlock.unlock import decide_unlock
from protocols.revocation import RevocationList, verify_revocation_list
from protocols.vectorgen import padlock as v

TRUST = LockTrust(lock_id=v.LOCK_ID, issuer_keys={v.ISSUER_KID: v.ISSUER.public_key()},
                  gateway_key=v.GATEWAY.public_key())


def decide(request: m.UnlockRequest | None = None, **changes: object) -> str:
    chal = v.challenge()
    state: dict[str, object] = dict(now=v.NOW, trust=TRUST, challenge=PendingChallenge(chal), revocations=None,
                                    attestation=v.attestation())
    state.update(changes)
    return decide_unlock(request or v.unlock_request(v.token(), chal), **state).result  # type: ignore[arg-type]


def test_a_valid_unlock_returns_the_claims_for_the_opened_event() -> None:
    chal = v.challenge()
    decision = decide_unlock(v.unlock_request(v.token(), chal), now=v.NOW, trust=TRUST,
                             challenge=PendingChallenge(chal), revocations=None, attestation=v.attestation())
    assert decision.ok
    assert decision.claims is not None
    assert EventPermit.from_claims(decision.claims).permit_id == v.claims().permit_id


def test_every_unlock_case_gives_its_result_code() -> None:
    # The vector cases cover every code the decision can give; here they run on in-memory objects.
    seen = set()
    for case in v.unlock_cases():
        request = m.UnlockRequest.decode(bytes.fromhex(case["unlock_request"]))
        chal = m.Challenge.decode(bytes.fromhex(case["challenge"])) if case["challenge"] else None
        result = decide(request, trust=TRUST if case["provisioned"] else None,
                        challenge=PendingChallenge(chal, case["challenge_used"]) if chal else None,
                        attestation=bytes.fromhex(case["attestation"]) if case["attestation"] else None,
                        revocations=_revocations(case["revocation_list"]))
        assert result == case["expect"], case["name"]
        seen.add(result)
    decision_codes = set(RESULT_CODES) - {"busy", "bad_request", "unsupported", "stale", "not_in_provisioning_mode",
                                          "deferred", "backoff"}
    assert seen == decision_codes


def _revocations(hex_list: str | None) -> RevocationList | None:
    if hex_list is None:
        return None
    return verify_revocation_list(bytes.fromhex(hex_list), {v.ISSUER_KID: v.ISSUER.public_key()})


def test_the_gas_state_is_not_revealed_before_the_token_is_accepted() -> None:
    forged = v.unlock_request(v.token(), v.challenge(), holder=v.ROGUE)
    assert decide(forged, attestation=None) == "bad_pop"
    assert decide(attestation=None) == "gas_test_required"


def test_attestation_measured_in_the_future_beyond_the_skew_is_stale() -> None:
    assert decide(attestation=v.attestation(measured_at=v.NOW + 3600)) == "attestation_stale"


def test_junk_is_every_refusal_that_proves_nothing_but_never_a_gas_or_state_refusal() -> None:
    assert {"challenge_unknown_or_used", "bad_request", "bad_signature", "bad_pop"} <= UNPROVEN_RESULTS
    assert not {"ok", "gas_test_required", "gas_out_of_range", "attestation_stale", "not_provisioned",
                "busy"} & UNPROVEN_RESULTS
    assert "backoff" not in {case["expect"] for case in v.unlock_cases()}  # retired: no lock answers it
