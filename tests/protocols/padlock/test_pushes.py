"""Signed pushes to a lock: each verifies, and forged, old, misdirected and replayed ones are refused."""

from __future__ import annotations

import contextlib
import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols import cbor, crypto
from protocols.errors import GattError, ProtocolError
from protocols.padlock import messages as m
from protocols.padlock.challenges import PendingChallenge
from protocols.padlock.pushes import (
    GAS_ATTESTATION_AAD,
    GasAttestation,
    LockTrust,
    TimeSet,
    TrustList,
    decide_push,
    sign_gas_attestation,
    sign_time_set,
    sign_trust_list,
    verify_gas_attestation,
    verify_revocation_push,
    verify_time_set,
    verify_trust_list,
)
from protocols.revocation import MAX_LIST_LOCKS, RevocationList, sign_revocation_list

ISSUER = crypto.private_key_from_raw(bytes([1]) * 32)
GATEWAY = crypto.private_key_from_raw(bytes([2]) * 32)
ROGUE = crypto.private_key_from_raw(bytes([3]) * 32)
KID = crypto.key_id(ISSUER)
ISSUERS = {KID: ISSUER.public_key()}
LOCK_ID = bytes.fromhex("1122334455667788")
NOW = 1_767_225_600
SPACE = bytes(range(16))
TRUST = LockTrust(lock_id=LOCK_ID, issuer_keys=ISSUERS, gateway_key=GATEWAY.public_key())


def code(exc: pytest.ExceptionInfo[GattError]) -> str:
    return exc.value.code


def trust_list(version: int = 1, lock_ids: tuple[bytes, ...] = (LOCK_ID,)) -> TrustList:
    new = crypto.private_key_from_raw(bytes([4]) * 32)
    return TrustList(version=version, issued_at=NOW, lock_ids=lock_ids,
                     issuer_keys={KID: crypto.public_raw(ISSUER), crypto.key_id(new): crypto.public_raw(new)},
                     gateway_key=crypto.public_raw(GATEWAY))


def test_trust_list_verifies_and_rotates_keys() -> None:
    signed = sign_trust_list(trust_list(), ISSUER, kid=KID)
    got = verify_trust_list(signed, issuer_keys=ISSUERS, lock_id=LOCK_ID, current_version=0)
    assert got == trust_list()
    assert len(LockTrust.from_trust_list(LOCK_ID, got).issuer_keys) == 2


@pytest.mark.parametrize(("make", "expect"), [
    (lambda: sign_trust_list(trust_list(), ROGUE, kid=crypto.key_id(ROGUE)), "unknown_kid"),
    (lambda: sign_trust_list(trust_list(), ROGUE, kid=KID), "bad_signature"),
    (lambda: sign_trust_list(trust_list(version=1), ISSUER, kid=KID), "stale"),  # the lock holds version 1
    (lambda: sign_trust_list(trust_list(lock_ids=(bytes(8),)), ISSUER, kid=KID), "wrong_lock"),
    # a signature made for another purpose (here: a gas attestation's AAD) never verifies as a trust list
    (lambda: crypto.sign1(trust_list(version=5).payload(), ISSUER, kid=KID, external_aad=GAS_ATTESTATION_AAD),
     "bad_signature"),
])
def test_trust_list_refusals(make, expect: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GattError) as err:
        verify_trust_list(make(), issuer_keys=ISSUERS, lock_id=LOCK_ID, current_version=1)
    assert code(err) == expect


def time_challenge(**changes: object) -> PendingChallenge:
    chal = m.Challenge(nonce=b"n" * 16, lock_id=LOCK_ID, counter=9, lock_time=NOW - 3, purpose=m.Purpose.TIME_SET)
    used = bool(changes.pop("used", False))
    return PendingChallenge(dataclasses.replace(chal, **changes), used=used)  # type: ignore[arg-type]


def test_time_set_verifies_only_once_for_this_lock_and_challenge() -> None:
    signed = sign_time_set(TimeSet(lock_id=LOCK_ID, nonce=b"n" * 16, time=NOW + 60), GATEWAY)
    pending = time_challenge()
    assert verify_time_set(signed, gateway_key=GATEWAY.public_key(), lock_id=LOCK_ID, challenge=pending,
                           now=NOW).time == NOW + 60
    cases = [
        (dict(challenge=pending.spent()), "challenge_unknown_or_used"),  # replayed
        (dict(challenge=None), "challenge_unknown_or_used"),
        (dict(challenge=time_challenge(purpose=m.Purpose.UNLOCK)), "challenge_unknown_or_used"),
        (dict(challenge=time_challenge(nonce=b"x" * 16)), "challenge_unknown_or_used"),
        (dict(challenge=time_challenge(lock_time=NOW - 31)), "challenge_expired"),
        (dict(lock_id=bytes(8)), "wrong_lock"),
        (dict(gateway_key=ROGUE.public_key()), "unknown_kid"),
    ]
    for changes, expect in cases:
        kwargs = dict(gateway_key=GATEWAY.public_key(), lock_id=LOCK_ID, challenge=pending, now=NOW) | changes
        with pytest.raises(GattError) as err:
            verify_time_set(signed, **kwargs)  # type: ignore[arg-type]
        assert code(err) == expect, changes


def test_gas_attestation_verifies_and_refuses_forged_long_and_replayed() -> None:
    att = GasAttestation(space_id=SPACE, all_in_range=True, measured_at=NOW, valid_until=NOW + 1800)
    signed = sign_gas_attestation(att, GATEWAY)
    assert verify_gas_attestation(signed, gateway_key=GATEWAY.public_key()) == att
    with pytest.raises(GattError) as err:
        verify_gas_attestation(sign_gas_attestation(att, ROGUE), gateway_key=GATEWAY.public_key())
    assert code(err) == "unknown_kid"
    with pytest.raises(GattError):
        GasAttestation(space_id=SPACE, all_in_range=True, measured_at=NOW, valid_until=NOW + 1801)
    too_long = cbor.dumps({1: SPACE, 2: True, 3: NOW, 4: NOW + 3600})  # signed by the real gateway, still refused
    with pytest.raises(GattError) as err:
        verify_gas_attestation(crypto.sign1(too_long, GATEWAY, kid=crypto.key_id(GATEWAY),
                                             external_aad=GAS_ATTESTATION_AAD), gateway_key=GATEWAY.public_key())
    assert code(err) == "malformed"
    newer_bad = GasAttestation(space_id=SPACE, all_in_range=False, measured_at=NOW + 60, valid_until=NOW + 900)
    with pytest.raises(GattError) as err:  # an old "all in range" cannot displace a newer "out of range"
        verify_gas_attestation(signed, gateway_key=GATEWAY.public_key(), held=newer_bad)
    assert code(err) == "stale"


OTHER_SPACE = bytes(range(16, 32))
OTHER_LOCK = bytes.fromhex("99aabbccddeeff00")


def revocation_list(version: int, *, space_id: bytes = SPACE, lock_ids: tuple[bytes, ...] = (LOCK_ID,),
                    issued_at: int = NOW) -> RevocationList:
    return RevocationList(version=version, issued_at=issued_at, min_iat=0, revoked=frozenset({b"r" * 16}),
                          space_id=space_id, lock_ids=frozenset(lock_ids))


def revocation_code(rl: RevocationList, current: RevocationList | None) -> str:
    try:
        verify_revocation_push(sign_revocation_list(rl, ISSUER, kid=KID), issuer_keys=ISSUERS, lock_id=LOCK_ID,
                               current=current)
    except GattError as exc:
        return exc.code
    return "ok"


def test_revocation_push_verifies_and_refuses_old_and_forged() -> None:
    signed = sign_revocation_list(revocation_list(2), ISSUER, kid=KID)
    got = verify_revocation_push(signed, issuer_keys=ISSUERS, lock_id=LOCK_ID, current=revocation_list(1))
    assert got.version == 2
    with pytest.raises(GattError) as err:
        verify_revocation_push(signed, issuer_keys=ISSUERS, lock_id=LOCK_ID, current=revocation_list(3))
    assert code(err) == "stale"
    with pytest.raises(GattError) as err:
        verify_revocation_push(sign_revocation_list(revocation_list(4), ROGUE, kid=crypto.key_id(ROGUE)),
                               issuer_keys=ISSUERS, lock_id=LOCK_ID, current=None)
    assert code(err) == "unknown_kid"


def test_a_revocation_list_is_adopted_only_by_its_locks_and_versions_count_per_space() -> None:
    held = revocation_list(5)
    # Another space's list, whatever its version, is not for this lock: refused before versions are compared.
    assert revocation_code(revocation_list(6, space_id=OTHER_SPACE, lock_ids=(OTHER_LOCK,)), held) == "wrong_lock"
    assert revocation_code(revocation_list(1, space_id=OTHER_SPACE, lock_ids=(OTHER_LOCK,)), None) == "wrong_lock"
    assert revocation_code(revocation_list(6, lock_ids=(OTHER_LOCK,)), held) == "wrong_lock"
    assert revocation_code(revocation_list(6, lock_ids=(OTHER_LOCK, LOCK_ID)), held) == "ok"
    assert revocation_code(revocation_list(5), held) == "stale"
    # The lock moved to another space: that space's list counts its own versions, and must be issued later.
    assert revocation_code(revocation_list(1, space_id=OTHER_SPACE, issued_at=NOW + 1), held) == "ok"
    assert revocation_code(revocation_list(9, space_id=OTHER_SPACE, issued_at=NOW), held) == "stale"


def test_decide_push_answers_results_and_defers_during_a_session() -> None:
    state = dict(trust=TRUST, now=NOW, trust_version=0, revocations=None, held_attestation=None, challenge=None)
    tl_push = m.TrustListPush(sign_trust_list(trust_list(), ISSUER, kid=KID))
    assert decide_push(tl_push, **state).result == "ok"  # type: ignore[arg-type]
    assert decide_push(tl_push, **state, session_open=True).result == "deferred"  # type: ignore[arg-type]
    assert decide_push(tl_push, **state | {"trust": None}).result == "not_provisioned"  # type: ignore[arg-type]
    assert decide_push(m.TrustListPush(b"\xa0"), **state).result == "bad_request"  # type: ignore[arg-type]
    assert decide_push(m.InfoRequest(), **state).result == "unsupported"  # type: ignore[arg-type]
    att = GasAttestation(space_id=SPACE, all_in_range=True, measured_at=NOW, valid_until=NOW + 60)
    decision = decide_push(m.GasAttestationPush(sign_gas_attestation(att, GATEWAY)), **state,  # type: ignore[arg-type]
                           session_open=True)
    assert decision.result == "ok" and decision.value == att  # gas data is never deferred

    provision = m.Provision(lock_id=LOCK_ID, issuer_keys={KID: crypto.public_raw(ISSUER)},
                            gateway_key=crypto.public_raw(GATEWAY), time=NOW)
    assert decide_push(provision, **state).result == "not_in_provisioning_mode"  # type: ignore[arg-type]
    decision = decide_push(provision, **state | {"trust": None}, provisioning_mode=True)  # type: ignore[arg-type]
    assert decision.result == "ok" and isinstance(decision.value, LockTrust)
    assert decision.value.lock_id == LOCK_ID


@given(st.binary(max_size=300))
def test_random_bytes_into_push_verifiers_only_raise_gatt_error(data: bytes) -> None:
    with contextlib.suppress(GattError):
        verify_trust_list(data, issuer_keys=ISSUERS, lock_id=LOCK_ID, current_version=0)
    with contextlib.suppress(GattError):
        verify_time_set(data, gateway_key=GATEWAY.public_key(), lock_id=LOCK_ID, challenge=time_challenge(), now=NOW)
    with contextlib.suppress(GattError):
        verify_gas_attestation(data, gateway_key=GATEWAY.public_key())
    with contextlib.suppress(GattError):
        verify_revocation_push(data, issuer_keys=ISSUERS, lock_id=LOCK_ID, current=None)


SIGNED_PUSHES = [
    sign_trust_list(trust_list(), ISSUER, kid=KID),
    sign_time_set(TimeSet(lock_id=LOCK_ID, nonce=b"n" * 16, time=NOW), GATEWAY),
    sign_gas_attestation(GasAttestation(space_id=SPACE, all_in_range=True, measured_at=NOW, valid_until=NOW + 5),
                         GATEWAY),
]


@given(st.sampled_from(SIGNED_PUSHES), st.data())
def test_mutated_pushes_are_refused_with_gatt_error_only(signed: bytes, data: st.DataObject) -> None:
    raw = bytearray(signed)
    raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
    with pytest.raises(GattError):
        verify_trust_list(bytes(raw), issuer_keys=ISSUERS, lock_id=LOCK_ID, current_version=0)
    with pytest.raises(GattError):
        verify_time_set(bytes(raw), gateway_key=GATEWAY.public_key(), lock_id=LOCK_ID, challenge=time_challenge(),
                        now=NOW)
    with pytest.raises(GattError):
        verify_gas_attestation(bytes(raw), gateway_key=GATEWAY.public_key())


def test_the_longest_revocation_list_the_issuer_signs_fits_one_message() -> None:
    def signed(n: int) -> bytes | None:
        rl = RevocationList(version=2**32 - 1, issued_at=2**32 - 1, min_iat=2**32 - 1,
                            revoked=frozenset(i.to_bytes(16, "big") for i in range(n)), space_id=SPACE,
                            lock_ids=frozenset(i.to_bytes(8, "big") for i in range(MAX_LIST_LOCKS)))
        try:
            return sign_revocation_list(rl, ISSUER, kid=KID)
        except ProtocolError:
            return None

    n = 1
    while n < 2000 and signed(n + 1) is not None:
        n += 1
    assert n < 2000, "protocols.revocation must bound a list"
    longest = signed(n)
    assert longest is not None
    push = m.RevocationPush.decode(m.RevocationPush(longest).encode())
    assert len(verify_revocation_push(push.signed, issuer_keys=ISSUERS, lock_id=bytes(8), current=None).revoked) == n
