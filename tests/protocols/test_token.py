"""Permit tokens: the vector file, one test per rejection code, size, round trips, and hypothesis over random
and mutated input (only TokenError, and nothing but the unchanged token ever verifies)."""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from protocols import cbor, crypto
from protocols.errors import TokenError
from protocols.revocation import RevocationList, verify_revocation_list
from protocols.token import (
    DEFAULT_SKEW_S,
    MAX_TOKEN_BYTES,
    POP_CONTEXT,
    REJECTION_CODES,
    PermitClaims,
    check_unlock,
    claims_to_json,
    decode_token,
    issue_token,
    pop_message,
    sign_pop,
    token_hash,
    verify_token,
)
from protocols.vectorgen import VECTORS_DIR, render, seeded_key, tokens

VECTORS = json.loads((VECTORS_DIR / tokens.FILENAME).read_text(encoding="utf-8"))
ISSUER_KEYS = {bytes.fromhex(k): crypto.public_key_from_raw(bytes.fromhex(v))
               for k, v in VECTORS["issuer_keys"].items()}
ISSUER, KID, HOLDER = tokens.ISSUER, tokens.KID_A, tokens.HOLDER
CLAIMS = tokens._claims()
LOCK, OTHER_LOCK = tokens.LOCK, tokens.LOCK_2
NOW = tokens.NOW
GOOD = issue_token(CLAIMS, ISSUER, kid=KID)
CHALLENGE = b"\xa1\x01\x50" + bytes(16)  # opaque to the token layer: any bytes the lock sent


def h(text: str | None) -> bytes | None:
    return bytes.fromhex(text) if text is not None else None


def code_of(fn: Any, *args: Any, **kwargs: Any) -> str:
    """The rejection code a call raises, or "ok"."""
    try:
        fn(*args, **kwargs)
    except TokenError as err:
        return err.code
    return "ok"


def verify(token: bytes = GOOD, **kw: Any) -> PermitClaims:
    args: dict[str, Any] = {"issuer_keys": ISSUER_KEYS, "now": NOW, "lock_id": LOCK} | kw
    return verify_token(token, **args)


def unlock(token: bytes = GOOD, pop: bytes | None = None, **kw: Any) -> PermitClaims:
    pop = sign_pop(HOLDER, CHALLENGE, LOCK, token_hash(token)) if pop is None else pop
    args: dict[str, Any] = {"issuer_keys": ISSUER_KEYS, "now": NOW, "lock_id": LOCK} | kw
    return check_unlock(token, pop, CHALLENGE, **args)


# --- the vector file ------------------------------------------------------------------------------------------


def test_vector_file_is_reproduced_by_its_generator() -> None:
    assert (VECTORS_DIR / tokens.FILENAME).read_text(encoding="utf-8") == render(tokens.build())


@pytest.mark.parametrize("v", VECTORS["vectors"], ids=lambda v: v["name"])
def test_token_vector(v: dict[str, Any]) -> None:
    token, lock_id, rl = h(v["token"]), h(v["lock_id"]), h(v["revocation_list"])
    assert token is not None and lock_id is not None
    revocations = verify_revocation_list(rl, ISSUER_KEYS) if rl else None
    if v["check"] == "unlock":
        pop, challenge = h(v["pop"]), h(v["challenge"])
        got = code_of(check_unlock, token, pop, challenge, issuer_keys=ISSUER_KEYS, now=v["now"], lock_id=lock_id,
                      revocations=revocations, skew_s=VECTORS["skew_s"])
    else:
        got = code_of(verify_token, token, issuer_keys=ISSUER_KEYS, now=v["now"], lock_id=lock_id,
                      revocations=revocations, skew_s=VECTORS["skew_s"])
    assert got == v["expect"]
    if v["claims"] is None:
        assert code_of(decode_token, token) == "malformed"
    else:
        assert claims_to_json(decode_token(token)) == v["claims"]


def test_every_rejection_code_has_a_vector_of_each_check() -> None:
    assert {v["expect"] for v in VECTORS["vectors"]} == {"ok", *REJECTION_CODES}
    assert {v["expect"] for v in VECTORS["vectors"] if v["check"] == "unlock"} >= {"ok", "bad_pop", "wrong_lock"}
    assert VECTORS["skew_s"] == DEFAULT_SKEW_S


def test_pop_example_in_the_file_verifies() -> None:
    ex = VECTORS["pop_example"]
    token = bytes.fromhex(ex["token"])
    assert token_hash(token).hex() == ex["token_hash"]
    message = pop_message(bytes.fromhex(ex["challenge"]), bytes.fromhex(ex["lock_id"]), token_hash(token))
    assert message.hex() == ex["message"]
    holder = crypto.public_key_from_raw(bytes.fromhex(VECTORS["holder_keys"]["holder-1"]))
    assert crypto.verify_raw(holder, bytes.fromhex(ex["signature"]), message)


def test_published_test_keys_match_the_trusted_ones() -> None:
    for entry in VECTORS["test_private_keys"].values():
        key = crypto.private_key_from_raw(bytes.fromhex(entry["private"]))
        assert crypto.public_raw(key).hex() == entry["public"]
        assert crypto.key_id(key).hex() == entry["kid"]
    assert set(VECTORS["issuer_keys"]) == {VECTORS["test_private_keys"][n]["kid"] for n in ("issuer-a", "issuer-b")}


# --- one test per rejection code ------------------------------------------------------------------------------


def test_ok() -> None:
    assert verify() == CLAIMS
    assert unlock() == CLAIMS


def test_malformed() -> None:
    assert code_of(verify, b"") == "malformed"
    assert code_of(verify, GOOD + b"\x00") == "malformed"  # trailing bytes
    assert code_of(verify, cbor.dumps(cbor.loads(GOOD).value)) == "malformed"  # untagged
    no_cti = {k: v for k, v in cbor.loads(CLAIMS.to_cbor()).items() if k != 7}
    assert code_of(verify, crypto.sign1(cbor.dumps(no_cti), ISSUER, kid=KID)) == "malformed"
    assert code_of(verify, bytes.fromhex("d81c81d81d00")) == "malformed"  # a CBOR value that contains itself
    list_alg = crypto.sign1(CLAIMS.to_cbor(), ISSUER, kid=KID, extra_protected={crypto.HDR_ALG: [-19]})
    assert code_of(verify, list_alg) == "malformed"


def test_bad_signature() -> None:
    forged = issue_token(CLAIMS, seeded_key("stranger"), kid=KID)
    assert code_of(verify, forged) == "bad_signature"


def test_unknown_kid() -> None:
    assert code_of(verify, GOOD, issuer_keys={}) == "unknown_kid"


def test_expired() -> None:
    assert code_of(verify, now=CLAIMS.window_end + DEFAULT_SKEW_S) == "expired"
    short = issue_token(replace(CLAIMS, exp=CLAIMS.nbf + 60), ISSUER, kid=KID)
    assert code_of(verify, short, now=CLAIMS.nbf + 60 + DEFAULT_SKEW_S) == "expired"


def test_not_yet_valid() -> None:
    assert code_of(verify, now=CLAIMS.nbf - DEFAULT_SKEW_S - 1) == "not_yet_valid"
    late_window = issue_token(replace(CLAIMS, window_start=CLAIMS.nbf + 3600), ISSUER, kid=KID)
    assert code_of(verify, late_window, now=CLAIMS.nbf + 60) == "not_yet_valid"


def test_wrong_lock() -> None:
    assert code_of(verify, lock_id=OTHER_LOCK) == "wrong_lock"


def test_bad_pop() -> None:
    assert code_of(unlock, pop=sign_pop(seeded_key("thief"), CHALLENGE, LOCK, token_hash(GOOD))) == "bad_pop"
    assert code_of(unlock, pop=sign_pop(HOLDER, CHALLENGE + b"!", LOCK, token_hash(GOOD))) == "bad_pop"
    assert code_of(unlock, pop=b"") == "bad_pop"


def test_revoked() -> None:
    scope = {"space_id": CLAIMS.space_id, "lock_ids": frozenset(CLAIMS.lock_ids)}
    by_id = RevocationList(version=1, issued_at=NOW, min_iat=0, revoked=frozenset({CLAIMS.cti}), **scope)
    assert code_of(verify, revocations=by_id) == "revoked"
    by_epoch = RevocationList(version=2, issued_at=NOW, min_iat=CLAIMS.iat + 1, revoked=frozenset(), **scope)
    assert code_of(verify, revocations=by_epoch) == "revoked"


# --- behaviour ------------------------------------------------------------------------------------------------


def test_a_realistic_one_lock_token_is_at_most_300_bytes() -> None:
    assert len(GOOD) <= 300


def test_skew_is_configurable_and_bounds_both_edges() -> None:
    assert verify(now=CLAIMS.nbf - 10, skew_s=10) == CLAIMS
    assert code_of(verify, now=CLAIMS.nbf - 11, skew_s=10) == "not_yet_valid"
    assert verify(now=CLAIMS.window_end + 9, skew_s=10) == CLAIMS
    assert code_of(verify, now=CLAIMS.window_end + 10, skew_s=10) == "expired"
    assert code_of(verify, now=CLAIMS.window_end, skew_s=0) == "expired"
    with pytest.raises(ValueError):
        verify(skew_s=-1)


def test_pop_message_layout_is_pinned() -> None:
    digest = token_hash(GOOD)
    assert pop_message(CHALLENGE, LOCK, digest) == cbor.dumps([POP_CONTEXT, CHALLENGE, LOCK, digest])
    assert cbor.loads(pop_message(CHALLENGE, LOCK, digest))[0] == "safegrid/permit-pop/v1"
    assert len(digest) == 32


def test_pop_for_one_lock_of_a_multi_lock_token_does_not_open_another() -> None:
    token = issue_token(replace(CLAIMS, lock_ids=(LOCK, OTHER_LOCK)), ISSUER, kid=KID)
    pop_for_other = sign_pop(HOLDER, CHALLENGE, OTHER_LOCK, token_hash(token))
    assert code_of(unlock, token, pop_for_other) == "bad_pop"
    assert unlock(token, pop_for_other, lock_id=OTHER_LOCK).lock_ids == (LOCK, OTHER_LOCK)


def test_alg_eddsa_is_accepted_and_other_algs_are_not_issued() -> None:
    legacy = issue_token(CLAIMS, ISSUER, kid=KID, alg=crypto.ALG_EDDSA)
    assert crypto.decode_sign1(legacy).alg == crypto.ALG_EDDSA
    assert unlock(legacy) == CLAIMS
    with pytest.raises(ValueError):
        issue_token(CLAIMS, ISSUER, kid=KID, alg=-7)


@pytest.mark.parametrize("change", [
    {"lock_ids": ()}, {"lock_ids": (b"short",)}, {"lock_ids": (LOCK, LOCK)},
    {"lock_ids": tuple(bytes([i]) * 8 for i in range(17))}, {"permit_id": b"x" * 15}, {"cti": b"x" * 17},
    {"holder_key": b"k" * 31}, {"exp": tokens.T0}, {"window_end": tokens.T0}, {"window_end": tokens.T0 - 1},
    {"window_start": tokens.T0 + 4 * 3600, "window_end": tokens.T0 + 5 * 3600},  # no overlap with [nbf, exp)
    {"entrant_limit": 0}, {"entrant_limit": 256}, {"max_duration_s": 0}, {"max_duration_s": 86401},
    {"iss": ""}, {"sub": "x" * 65}, {"exp": 2**32}, {"iat": -1}, {"drill": 1},
])
def test_issuer_refuses_what_a_verifier_would_call_malformed(change: dict[str, Any]) -> None:
    with pytest.raises(TokenError) as err:
        issue_token(replace(CLAIMS, **change), ISSUER, kid=KID)
    assert err.value.code == "malformed"


def test_kid_is_bounded() -> None:
    with pytest.raises(TokenError):
        issue_token(CLAIMS, ISSUER, kid=b"k" * 17)
    with pytest.raises(TokenError):
        issue_token(CLAIMS, ISSUER, kid=b"")


def test_token_size_is_bounded_before_parsing() -> None:
    huge = crypto.sign1(b"\x00" * MAX_TOKEN_BYTES, ISSUER, kid=KID)
    assert code_of(decode_token, huge) == "malformed"


# --- hypothesis -----------------------------------------------------------------------------------------------

ids16 = st.binary(min_size=16, max_size=16)
lock_ids = st.lists(st.binary(min_size=8, max_size=8), min_size=1, max_size=16, unique=True).map(tuple)
short_text = st.text(min_size=1, max_size=16)


@st.composite
def permit_claims(draw: st.DrawFn) -> PermitClaims:
    nbf = draw(st.integers(0, 2**32 - 2 * 10**6))
    window_start = max(0, nbf + draw(st.integers(-10**5, 10**5)))
    claims = PermitClaims(
        iss=draw(short_text), sub=draw(short_text), iat=draw(st.integers(0, 2**32 - 1)), nbf=nbf,
        exp=nbf + draw(st.integers(1, 10**6)), cti=draw(ids16), holder_key=draw(st.binary(min_size=32, max_size=32)),
        permit_id=draw(ids16), enterprise_id=draw(ids16), space_id=draw(ids16), worker_id=draw(ids16),
        lock_ids=draw(lock_ids), window_start=window_start, window_end=window_start + draw(st.integers(1, 10**6)),
        max_duration_s=draw(st.integers(1, 86400)), entrant_limit=draw(st.integers(1, 255)),
        gas_test_required=draw(st.booleans()), drill=draw(st.booleans()))
    assume(claims.valid_from < claims.valid_until)
    return claims


@settings(max_examples=150)
@given(permit_claims())
def test_issue_decode_verify_round_trip(claims: PermitClaims) -> None:
    token = issue_token(claims, ISSUER, kid=KID)
    assert decode_token(token) == claims
    assert claims.to_cbor() == cbor.dumps(cbor.loads(claims.to_cbor()))  # the fast encoding is the canonical one
    now = claims.valid_from
    assert verify_token(token, issuer_keys=ISSUER_KEYS, now=now, lock_id=claims.lock_ids[-1]) == claims


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_random_bytes_only_raise_token_error(data: bytes) -> None:
    for call in (lambda: decode_token(data), lambda: verify(data), lambda: unlock(data, pop=bytes(64))):
        with pytest.raises(TokenError) as err:
            call()
        assert err.value.code in REJECTION_CODES


@st.composite
def mutations(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[pos:pos + draw(st.integers(1, 8))]
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


@settings(max_examples=400)
@given(mutations(GOOD))
def test_mutated_tokens_raise_token_error_and_never_verify(token: bytes) -> None:
    assume(token != GOOD)
    with contextlib.suppress(TokenError):
        decode_token(token)  # may still decode (a flipped signature byte), but raises nothing else
    # The holder signs whatever bytes it is handed: only the issuer's signature can refuse them.
    assert code_of(unlock, token) in REJECTION_CODES


@settings(max_examples=150)
@given(mutations(sign_pop(HOLDER, CHALLENGE, LOCK, token_hash(GOOD))))
def test_mutated_pop_signatures_are_bad_pop(pop: bytes) -> None:
    assume(pop != sign_pop(HOLDER, CHALLENGE, LOCK, token_hash(GOOD)))
    assert code_of(unlock, GOOD, pop) == "bad_pop"
