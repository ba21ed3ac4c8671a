"""Test vectors for permit tokens, unlock checks and revocation lists (``vectors/permit_tokens.json``).

Every rejection code has vectors, including the cases where two faults meet and the check order of
``protocols/token.md`` §5 decides. Keys are seeded test keys, published (private halves too) in the file.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocols import cbor, crypto
from protocols.errors import TokenError
from protocols.revocation import (
    REVOCATION_AAD,
    RevocationList,
    revocation_list_to_json,
    sign_revocation_list,
    verify_revocation_list,
)
from protocols.token import (
    DEFAULT_SKEW_S,
    PermitClaims,
    claims_to_json,
    decode_token,
    issue_token,
    pop_message,
    sign_pop,
    token_hash,
)
from protocols.vectorgen import seeded_bytes, seeded_key

FILENAME = "permit_tokens.json"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z: the token is valid from T0 for four hours, its work window three
NOW = T0 + 60
SKEW = DEFAULT_SKEW_S

ISSUER, ROTATED, STRANGER = seeded_key("issuer-a"), seeded_key("issuer-b"), seeded_key("stranger")
HOLDER, THIEF = seeded_key("holder-1"), seeded_key("holder-thief")
KID_A, KID_B, KID_STRANGER = crypto.key_id(ISSUER), crypto.key_id(ROTATED), crypto.key_id(STRANGER)
LOCK, LOCK_2, LOCK_3 = seeded_bytes("lock-1", 8), seeded_bytes("lock-2", 8), seeded_bytes("lock-3", 8)


def _claims() -> PermitClaims:
    """A realistic one-lock permit: the shape every vector starts from."""
    return PermitClaims(
        iss="safegrid-cloud", sub="W0001234", iat=T0 - 300, nbf=T0, exp=T0 + 4 * 3600,
        cti=seeded_bytes("cti-1", 16), holder_key=crypto.public_raw(HOLDER),
        permit_id=seeded_bytes("permit-1", 16), enterprise_id=seeded_bytes("enterprise-1", 16),
        space_id=SPACE, worker_id=seeded_bytes("worker-1", 16),
        lock_ids=(LOCK,), window_start=T0, window_end=T0 + 3 * 3600,
        max_duration_s=2 * 3600, entrant_limit=3, gas_test_required=True, drill=False,
    )


def _signed(payload: bytes, key: Ed25519PrivateKey = ISSUER, kid: bytes = KID_A) -> bytes:
    """A COSE_Sign1 over any payload, validly signed: for claims a verifier must call malformed."""
    return crypto.sign1(payload, key, kid=kid)


def _claims_map(claims: PermitClaims) -> dict[Any, Any]:
    value: dict[Any, Any] = cbor.loads(claims.to_cbor())
    return value


def _raw_map(entries: list[tuple[Any, bytes]]) -> bytes:
    """A CBOR map from pre-encoded values, in the given order (to build encodings ``dumps`` never makes)."""
    return bytes([0xA0 + len(entries)]) + b"".join(cbor.dumps(k) + v for k, v in entries)


def _unprotected_kid(payload: bytes) -> bytes:
    """The kid moved to the unprotected header (where a strict verifier refuses it)."""
    protected = cbor.dumps({crypto.HDR_ALG: crypto.ALG_ED25519})
    signature = ISSUER.sign(cbor.dumps(["Signature1", protected, b"", payload]))
    return cbor.dumps(cbor2.CBORTag(crypto.COSE_SIGN1_TAG, [protected, {crypto.HDR_KID: KID_A}, payload, signature]))


SPACE, OTHER_SPACE = seeded_bytes("space-1", 16), seeded_bytes("space-2", 16)


def _revocations(version: int, *, min_iat: int = 0, revoked: frozenset[bytes] = frozenset(),
                 space_id: bytes = SPACE) -> bytes:
    """A list for the vectors' space (the token's), addressed to its locks."""
    rl = RevocationList(version=version, issued_at=T0 - 60, min_iat=min_iat, revoked=revoked, space_id=space_id,
                        lock_ids=frozenset({LOCK, LOCK_2}))
    return sign_revocation_list(rl, ISSUER, kid=KID_A)


def _decoded(token: bytes) -> dict[str, Any] | None:
    try:
        return claims_to_json(decode_token(token))
    except TokenError:
        return None


def token_vectors() -> list[dict[str, Any]]:
    claims = _claims()
    good = issue_token(claims, ISSUER, kid=KID_A)
    vectors: list[dict[str, Any]] = []

    def add(name: str, token: bytes, expect: str, *, now: int = NOW, lock_id: bytes = LOCK, rl: bytes | None = None,
            challenge: bytes | None = None, pop: bytes | None = None) -> None:
        vectors.append({
            "name": name, "check": "unlock" if pop is not None else "token", "token": token.hex(), "now": now,
            "lock_id": lock_id.hex(), "expect": expect, "challenge": challenge.hex() if challenge is not None else None,
            "pop": pop.hex() if pop is not None else None, "revocation_list": rl.hex() if rl else None,
            "claims": _decoded(token)})

    def variant(**changes: Any) -> bytes:
        return issue_token(replace(claims, **changes), ISSUER, kid=KID_A)

    # Accepted.
    add("ok", good, "ok")
    add("ok_rotated_issuer_key", issue_token(claims, ROTATED, kid=KID_B), "ok")
    add("ok_alg_eddsa_minus8", issue_token(claims, ISSUER, kid=KID_A, alg=crypto.ALG_EDDSA), "ok")
    add("ok_second_of_three_locks", variant(lock_ids=(LOCK_2, LOCK, LOCK_3)), "ok")
    add("ok_drill_without_gas_test", variant(drill=True, gas_test_required=False), "ok")
    # Time, with the skew allowance at both edges; validity is [max(nbf, window_start), min(exp, window_end)).
    add("ok_within_skew_before_nbf", good, "ok", now=T0 - SKEW)
    add("not_yet_valid_beyond_skew", good, "not_yet_valid", now=T0 - SKEW - 1)
    add("ok_within_skew_after_window_end", good, "ok", now=claims.window_end + SKEW - 1)
    add("expired_after_window_end", good, "expired", now=claims.window_end + SKEW)
    add("expired_token_lifetime_before_window_end", variant(exp=T0 + 600), "expired", now=T0 + 600 + SKEW)
    add("not_yet_valid_before_window_start", variant(window_start=T0 + 3600), "not_yet_valid",
        now=T0 + 3600 - SKEW - 1)
    add("wrong_lock", good, "wrong_lock", lock_id=LOCK_2)
    # Keys and signatures.
    add("unknown_kid", issue_token(claims, STRANGER, kid=KID_STRANGER), "unknown_kid")
    add("bad_signature_forged_with_known_kid", issue_token(claims, STRANGER, kid=KID_A), "bad_signature")
    tampered = bytearray(good)
    tampered[good.index(claims.cti)] ^= 0x01  # the token id, after signing
    add("bad_signature_tampered_claims", bytes(tampered), "bad_signature")
    add("bad_signature_revocation_list_as_token", _revocations(1), "bad_signature")
    # Structure.
    add("malformed_not_cbor", b"\xff\x00\x01", "malformed")
    add("malformed_truncated", good[:-10], "malformed")
    add("malformed_untagged", good[1:], "malformed")
    add("malformed_cwt_tag_61", cbor.dumps(cbor2.CBORTag(61, cbor.loads(good))), "malformed")
    add("malformed_kid_unprotected", _unprotected_kid(claims.to_cbor()), "malformed")
    add("malformed_alg_es256", crypto.sign1(claims.to_cbor(), ISSUER, kid=KID_A, extra_protected={1: -7}), "malformed")
    add("malformed_oversize", _signed(b"\x00" * 2100), "malformed")
    # Claims that a trusted issuer signed but that break the format: malformed, after the signature.
    no_sub = _claims_map(claims)
    del no_sub[2]
    add("malformed_claims_missing_sub", _signed(cbor.dumps(no_sub)), "malformed")
    extra = _claims_map(claims) | {3: "aud"}
    add("malformed_claims_unknown_claim", _signed(cbor.dumps(extra)), "malformed")
    short_key = _claims_map(claims)
    short_key[8][1][-2] = short_key[8][1][-2][:31]
    add("malformed_claims_holder_key_31_bytes", _signed(cbor.dumps(short_key)), "malformed")
    long_lock = _claims_map(claims)
    long_lock[-65537][5] = [LOCK + b"\x00"]
    add("malformed_claims_lock_id_9_bytes", _signed(cbor.dumps(long_lock)), "malformed")
    many = _claims_map(claims)
    many[-65537][5] = [seeded_bytes(f"lock-many-{i}", 8) for i in range(17)]
    add("malformed_claims_17_locks", _signed(cbor.dumps(many)), "malformed")
    empty_window = _claims_map(claims)
    empty_window[-65537][7] = 0
    add("malformed_claims_empty_window", _signed(cbor.dumps(empty_window)), "malformed")
    entries = [(k, cbor.dumps(v)) for k, v in _claims_map(claims).items()]
    long_exp = [(k, b"\x1b" + claims.exp.to_bytes(8, "big") if k == 4 else v) for k, v in entries]
    add("malformed_claims_not_deterministic", _signed(_raw_map(long_exp)), "malformed")
    add("malformed_claims_duplicate_key", _signed(_raw_map([*entries, (2, cbor.dumps("W9999999"))])), "malformed")
    # Order: where two faults meet, the earlier check decides.
    add("unknown_kid_before_malformed_claims", _signed(cbor.dumps(no_sub), STRANGER, KID_STRANGER), "unknown_kid")
    expired_rl = _revocations(2, revoked=frozenset({claims.cti}))
    add("revoked_before_expired", good, "revoked", now=claims.window_end + SKEW, rl=expired_rl)
    add("expired_before_wrong_lock", good, "expired", now=claims.window_end + SKEW, lock_id=LOCK_2)
    # Revocation.
    add("revoked_by_id", good, "revoked", rl=_revocations(3, revoked=frozenset({claims.cti})))
    add("revoked_by_min_iat", good, "revoked", rl=_revocations(4, min_iat=claims.iat + 1))
    add("ok_iat_equals_min_iat", good, "ok", rl=_revocations(5, min_iat=claims.iat))
    # The epoch governs the list's own space only; token ids are unique, so a listed id is revoked anywhere.
    add("ok_min_iat_of_another_space", good, "ok", rl=_revocations(5, min_iat=claims.iat + 1, space_id=OTHER_SPACE))
    add("revoked_by_id_on_another_space_s_list", good, "revoked",
        rl=_revocations(5, revoked=frozenset({claims.cti}), space_id=OTHER_SPACE))
    add("ok_other_id_revoked", good, "ok", rl=_revocations(6, revoked=frozenset({seeded_bytes("cti-other", 16)})))
    # Unlock: the token, then the proof of possession.
    challenge = cbor.dumps({1: seeded_bytes("nonce-1", 16), 2: LOCK, 3: 42, 4: NOW})
    pop = sign_pop(HOLDER, challenge, LOCK, token_hash(good))
    two_locks = variant(lock_ids=(LOCK, LOCK_2))
    add("unlock_ok", good, "ok", challenge=challenge, pop=pop)
    add("unlock_bad_pop_wrong_holder_key", good, "bad_pop", challenge=challenge,
        pop=sign_pop(THIEF, challenge, LOCK, token_hash(good)))
    add("unlock_bad_pop_other_challenge", good, "bad_pop", challenge=challenge,
        pop=sign_pop(HOLDER, challenge + b"\x00", LOCK, token_hash(good)))
    add("unlock_bad_pop_made_for_other_lock", two_locks, "bad_pop", challenge=challenge,
        pop=sign_pop(HOLDER, challenge, LOCK_2, token_hash(two_locks)))
    add("unlock_bad_pop_made_for_other_token", good, "bad_pop", challenge=challenge,
        pop=sign_pop(HOLDER, challenge, LOCK, token_hash(two_locks)))
    add("unlock_bad_pop_zero_signature", good, "bad_pop", challenge=challenge, pop=bytes(64))
    add("unlock_bad_pop_63_bytes", good, "bad_pop", challenge=challenge, pop=pop[:63])
    add("unlock_wrong_lock_before_pop", good, "wrong_lock", lock_id=LOCK_2, challenge=challenge, pop=pop)
    add("unlock_revoked_before_pop", good, "revoked", rl=expired_rl, challenge=challenge, pop=bytes(64))
    return vectors


def revocation_list_vectors() -> list[dict[str, Any]]:
    def case(name: str, data: bytes, expect: str) -> dict[str, Any]:
        listed = revocation_list_to_json(verify_revocation_list(data, {KID_A: ISSUER.public_key()})) \
            if expect == "ok" else None
        return {"name": name, "data": data.hex(), "expect": expect, "list": listed}

    def signed_payload(payload: dict[int, Any]) -> bytes:
        return crypto.sign1(cbor.dumps(payload), ISSUER, kid=KID_A, external_aad=REVOCATION_AAD)

    ids = sorted(seeded_bytes(f"revoked-{i}", 16) for i in range(3))
    good = RevocationList(version=7, issued_at=T0, min_iat=T0 - 86400, revoked=frozenset(ids), space_id=SPACE,
                          lock_ids=frozenset({LOCK, LOCK_2, LOCK_3}))
    locks = sorted([LOCK, LOCK_2])
    return [
        case("ok", sign_revocation_list(good, ISSUER, kid=KID_A), "ok"),
        case("ok_epoch_only", _revocations(8, min_iat=T0 - 60), "ok"),
        case("unknown_kid", sign_revocation_list(good, STRANGER, kid=KID_STRANGER), "unknown_kid"),
        case("bad_signature_forged_with_known_kid", sign_revocation_list(good, STRANGER, kid=KID_A), "bad_signature"),
        case("bad_signature_token_as_list", issue_token(_claims(), ISSUER, kid=KID_A), "bad_signature"),
        case("malformed_not_cbor", b"\xd2\x84", "malformed"),
        case("ok_scope_one_lock", signed_payload({1: 9, 2: T0, 3: 0, 4: ids, 5: SPACE, 6: [LOCK]}), "ok"),
        case("malformed_ids_unsorted", signed_payload({1: 9, 2: T0, 3: 0, 4: ids[::-1], 5: SPACE, 6: locks}),
             "malformed"),
        case("malformed_min_iat_after_issued_at", signed_payload({1: 9, 2: T0, 3: T0 + 1, 4: [], 5: SPACE, 6: locks}),
             "malformed"),
        case("malformed_version_zero", signed_payload({1: 0, 2: T0, 3: 0, 4: [], 5: SPACE, 6: locks}), "malformed"),
        # Every list names its scope: the unscoped v1 body (keys 1-4 only) is refused, as are empty or unsorted
        # lock lists and a space id of the wrong size.
        case("malformed_unscoped", signed_payload({1: 9, 2: T0, 3: 0, 4: ids}), "malformed"),
        case("malformed_no_space", signed_payload({1: 9, 2: T0, 3: 0, 4: ids, 6: locks}), "malformed"),
        case("malformed_no_locks", signed_payload({1: 9, 2: T0, 3: 0, 4: ids, 5: SPACE, 6: []}), "malformed"),
        case("malformed_locks_unsorted", signed_payload({1: 9, 2: T0, 3: 0, 4: ids, 5: SPACE, 6: locks[::-1]}),
             "malformed"),
        case("malformed_lock_repeated", signed_payload({1: 9, 2: T0, 3: 0, 4: ids, 5: SPACE, 6: [LOCK, LOCK]}),
             "malformed"),
        case("malformed_space_id_short", signed_payload({1: 9, 2: T0, 3: 0, 4: ids, 5: SPACE[:8], 6: locks}),
             "malformed"),
    ]


def _key(key: Ed25519PrivateKey) -> dict[str, str]:
    return {"kid": crypto.key_id(key).hex(), "private": crypto.private_raw(key).hex(),
            "public": crypto.public_raw(key).hex()}


def build() -> dict[str, Any]:
    good = issue_token(_claims(), ISSUER, kid=KID_A)
    challenge = cbor.dumps({1: seeded_bytes("nonce-1", 16), 2: LOCK, 3: 42, 4: NOW})
    return {
        "description": "SafeGrid permit token vectors; see protocols/token.md §9. All keys are public test keys.",
        "skew_s": SKEW,
        "issuer_keys": {KID_A.hex(): crypto.public_raw(ISSUER).hex(), KID_B.hex(): crypto.public_raw(ROTATED).hex()},
        "holder_keys": {"holder-1": crypto.public_raw(HOLDER).hex()},
        "test_private_keys": {name: _key(key) for name, key in (("issuer-a", ISSUER), ("issuer-b", ROTATED),
                                                                 ("stranger", STRANGER), ("holder-1", HOLDER),
                                                                 ("holder-thief", THIEF))},
        "pop_example": {"challenge": challenge.hex(), "lock_id": LOCK.hex(), "token": good.hex(),
                        "token_hash": token_hash(good).hex(),
                        "message": pop_message(challenge, LOCK, token_hash(good)).hex(),
                        "signature": sign_pop(HOLDER, challenge, LOCK, token_hash(good)).hex()},
        "vectors": token_vectors(),
        "revocation_lists": revocation_list_vectors(),
    }
