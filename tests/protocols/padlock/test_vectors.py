"""The padlock vector file equals what the generator builds, and every vector in it checks out."""

from __future__ import annotations

import json

import pytest

from protocols import crypto
from protocols.errors import FragmentError, ProtocolError
from protocols.padlock import messages as m
from protocols.padlock.advertising import decode_advertising
from protocols.padlock.audit import verify_chain
from protocols.padlock.challenges import PendingChallenge
from protocols.padlock.fragment import Reassembler, fragment
from protocols.padlock.pushes import LockTrust, decide_push, verify_gas_attestation
from protocols.padlock.unlock import decide_unlock
from protocols.revocation import verify_revocation_list
from protocols.token import check_unlock, pop_message, token_hash
from protocols.vectorgen import VECTORS_DIR, render
from protocols.vectorgen import padlock as generator

VECTORS = json.loads((VECTORS_DIR / generator.FILENAME).read_text(encoding="utf-8"))


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def trust() -> LockTrust:
    t = VECTORS["trust"]
    return LockTrust(lock_id=h(t["lock_id"]),
                     issuer_keys={h(kid): crypto.public_key_from_raw(h(pub)) for kid, pub in t["issuer_keys"].items()},
                     gateway_key=crypto.public_key_from_raw(h(t["gateway_key"])))


def test_file_equals_build() -> None:
    assert (VECTORS_DIR / generator.FILENAME).read_text(encoding="utf-8") == render(generator.build())


def test_keys_are_consistent() -> None:
    for entry in VECTORS["keys"].values():
        key = crypto.private_key_from_raw(h(entry["private"]))
        assert crypto.public_raw(key).hex() == entry["public"]
        assert crypto.key_id(key).hex() == entry["kid"]


def test_the_unlock_exchange_checks_out_step_by_step() -> None:
    steps = {s["name"]: s for s in VECTORS["exchange"]["steps"]}
    now, lock_trust = VECTORS["exchange"]["now"], trust()
    advert = decode_advertising(h(steps["advertising"]["hex"]))
    assert advert.lock_id == lock_trust.lock_id
    for s in steps.values():
        if "fragments_mtu23" in s:
            frags = [h(f) for f in s["fragments_mtu23"]]
            assert frags == fragment(h(s["hex"]), 23)
            r = Reassembler(mtu=23)
            assert [r.feed(f) for f in frags][-1] == h(s["hex"])
            assert m.decode_message(h(s["hex"])).encode() == h(s["hex"])

    att = m.GasAttestationPush.decode(h(steps["gas_attestation_push"]["hex"])).signed
    assert verify_gas_attestation(att, gateway_key=lock_trust.gateway_key).all_in_range
    assert m.Result.decode(h(steps["gas_attestation_result"]["hex"])).ok
    chal = m.Challenge.decode(h(steps["challenge"]["hex"]))
    assert m.ChallengeRequest.decode(h(steps["challenge_request"]["hex"])).purpose is m.Purpose.UNLOCK
    tok = h(steps["token"]["hex"])
    assert token_hash(tok) == h(steps["token_hash"]["hex"])
    assert pop_message(chal.encode(), chal.lock_id, token_hash(tok)) == h(steps["pop_message"]["hex"])
    request = m.UnlockRequest.decode(h(steps["unlock_request"]["hex"]))
    assert request.token == tok and request.nonce == chal.nonce
    claims = check_unlock(tok, request.pop_signature, chal.encode(), issuer_keys=lock_trust.issuer_keys, now=now,
                          lock_id=lock_trust.lock_id)
    decision = decide_unlock(request, now=now, trust=lock_trust, challenge=PendingChallenge(chal), revocations=None,
                             attestation=att)
    assert decision.ok and decision.claims == claims
    assert m.Result.decode(h(steps["result"]["hex"])).ok
    notice = m.EventNotice.decode(h(steps["opened_event"]["hex"]))
    lock_pub = crypto.public_key_from_raw(h(VECTORS["keys"]["lock"]["public"]))
    entry = verify_chain([notice.entry], lock_pub, h(steps["opened_event"]["prev_hash"]), after_seq=41)[0]
    assert entry.event.permit is not None and entry.event.permit.token_id == claims.cti
    assert decode_advertising(h(steps["advertising_after"]["hex"])).event_seq == entry.seq


def test_fragmentation_vectors() -> None:
    for case in VECTORS["fragmentation"]:
        frags = [h(f) for f in case["fragments"]]
        assert fragment(h(case["message"]), case["mtu"]) == frags, case["name"]
        r = Reassembler(mtu=case["mtu"])
        assert [r.feed(f) for f in frags][-1] == h(case["message"])


def test_reassembly_rejection_vectors() -> None:
    for case in VECTORS["reassembly_rejections"]:
        r = Reassembler(case["max_message"], mtu=case["mtu"])
        with pytest.raises(FragmentError) as err:
            for f in case["fragments"]:
                r.feed(h(f))
        assert err.value.code == case["expect"], case["name"]


def test_unlock_case_vectors() -> None:
    lock_trust = trust()
    for case in VECTORS["unlock_cases"]:
        chal = m.Challenge.decode(h(case["challenge"])) if case["challenge"] else None
        rl = case["revocation_list"]
        decision = decide_unlock(
            m.UnlockRequest.decode(h(case["unlock_request"])), now=case["now"],
            trust=lock_trust if case["provisioned"] else None,
            challenge=PendingChallenge(chal, case["challenge_used"]) if chal else None,
            revocations=verify_revocation_list(h(rl), lock_trust.issuer_keys) if rl else None,
            attestation=h(case["attestation"]) if case["attestation"] else None)
        assert decision.result == case["expect"], case["name"]


def test_push_case_vectors() -> None:
    lock_trust = trust()
    for case in VECTORS["push_cases"]:
        state = case["state"]
        chal = m.Challenge.decode(h(state["challenge"])) if state["challenge"] else None
        held = state["held_attestation"]
        rl = state["revocation_list"]
        push = m.decode_message(h(case["message"]))
        assert type(push).__name__ == case["kind"]
        decision = decide_push(
            push, trust=lock_trust, now=case["now"], trust_version=state["trust_version"],
            revocations=verify_revocation_list(h(rl), lock_trust.issuer_keys) if rl else None,
            held_attestation=verify_gas_attestation(h(held), gateway_key=lock_trust.gateway_key) if held else None,
            challenge=PendingChallenge(chal, state["challenge_used"]) if chal else None)
        assert decision.result == case["expect"], case["name"]


def test_audit_vectors() -> None:
    audit = VECTORS["audit"]
    entries = [h(e) for e in audit["entries"]]
    lock_pub = crypto.public_key_from_raw(h(audit["lock_public"]))
    assert [e.seq for e in verify_chain(entries, lock_pub, h(audit["prev_hash"]))] == [1, 2, 3, 4]
    with pytest.raises(ProtocolError):
        verify_chain([entries[0], entries[2]], lock_pub, h(audit["prev_hash"]))
