"""Revocation lists: sign/verify, version ordering, the min_iat epoch, forgeries, bounds and malformed input."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from protocols import cbor, crypto
from protocols.errors import TokenError
from protocols.padlock.gatt import MAX_MESSAGE_BYTES
from protocols.revocation import (
    MAX_REVOCATION_LIST_BYTES,
    MAX_REVOKED,
    REVOCATION_AAD,
    RevocationList,
    make_revocation_list,
    revocation_list_to_json,
    sign_revocation_list,
    verify_revocation_list,
)
from protocols.token import issue_token, verify_token
from protocols.vectorgen import VECTORS_DIR, seeded_bytes, seeded_key, tokens

ISSUER, KID = tokens.ISSUER, tokens.KID_A
KEYS = {KID: ISSUER.public_key()}
CLAIMS = tokens._claims()
VECTORS = json.loads((VECTORS_DIR / tokens.FILENAME).read_text(encoding="utf-8"))


def rlist(version: int, issued_at: int, min_iat: int, revoked: frozenset[bytes], *,
          space_id: bytes = CLAIMS.space_id, lock_ids: frozenset[bytes] = frozenset({tokens.LOCK})) -> RevocationList:
    """A list for the test token's space and lock."""
    return RevocationList(version, issued_at, min_iat, revoked, space_id=space_id, lock_ids=lock_ids)


def ids(n: int, label: str = "r") -> frozenset[bytes]:
    return frozenset(seeded_bytes(f"{label}-{i}", 16) for i in range(n))


def code_of(data: bytes, keys: Any = None) -> str:
    try:
        verify_revocation_list(data, KEYS if keys is None else keys)
    except TokenError as err:
        return err.code
    return "ok"


def test_sign_verify_round_trip_and_membership() -> None:
    rl = rlist(7, 100, 50, ids(3) | {CLAIMS.cti}, lock_ids=frozenset({tokens.LOCK, tokens.LOCK_2}))
    back = verify_revocation_list(sign_revocation_list(rl, ISSUER, kid=KID), KEYS)
    assert back == rl
    assert back.is_revoked(CLAIMS)
    assert not rlist(1, 0, 0, ids(3)).is_revoked(CLAIMS)


def test_min_iat_revokes_everything_of_its_space_issued_before_it() -> None:
    assert rlist(1, CLAIMS.iat + 1, CLAIMS.iat + 1, frozenset()).is_revoked(CLAIMS)
    assert not rlist(1, CLAIMS.iat, CLAIMS.iat, frozenset()).is_revoked(CLAIMS)
    other_space = rlist(1, CLAIMS.iat + 1, CLAIMS.iat + 1, frozenset(), space_id=tokens.OTHER_SPACE)
    assert not other_space.is_revoked(CLAIMS)  # another space's epoch says nothing about this token
    assert rlist(1, 0, 0, frozenset({CLAIMS.cti}), space_id=tokens.OTHER_SPACE).is_revoked(CLAIMS)  # ids are unique


def test_versions_only_move_forward_within_a_space() -> None:
    old, new = rlist(3, 0, 0, frozenset()), rlist(4, 0, 0, frozenset())
    assert new.supersedes(old) and new.supersedes(None)
    assert not old.supersedes(new) and not old.supersedes(old)
    # Another space counts its own versions: a higher one does not supersede; issued later (a moved lock) does.
    elsewhere = rlist(9, 0, 0, frozenset(), space_id=tokens.OTHER_SPACE)
    assert not elsewhere.supersedes(old)
    assert rlist(1, 1, 0, frozenset(), space_id=tokens.OTHER_SPACE).supersedes(old)
    assert rlist(3, 0, 0, frozenset(), lock_ids=frozenset({tokens.LOCK_2})).addressed_to(tokens.LOCK_2)
    assert not old.addressed_to(tokens.LOCK_2)


def test_forged_lists_and_cross_type_signatures_are_refused() -> None:
    rl = rlist(1, 0, 0, frozenset())
    stranger = seeded_key("stranger")
    assert code_of(sign_revocation_list(rl, stranger, kid=KID)) == "bad_signature"
    assert code_of(sign_revocation_list(rl, stranger, kid=crypto.key_id(stranger))) == "unknown_kid"
    # A token is signed without the revocation AAD, a list with it: neither passes as the other.
    assert code_of(issue_token(CLAIMS, ISSUER, kid=KID)) == "bad_signature"
    with pytest.raises(TokenError) as err:
        verify_token(sign_revocation_list(rl, ISSUER, kid=KID), issuer_keys=KEYS, now=tokens.NOW,
                     lock_id=tokens.LOCK)
    assert err.value.code == "bad_signature"


def test_a_full_list_fits_one_padlock_message_and_one_more_id_is_refused() -> None:
    full = sign_revocation_list(rlist(1, 2**32 - 1, 2**32 - 1, ids(MAX_REVOKED)), ISSUER, kid=KID)
    assert len(full) <= MAX_REVOCATION_LIST_BYTES < MAX_MESSAGE_BYTES
    assert len(verify_revocation_list(full, KEYS).revoked) == MAX_REVOKED
    with pytest.raises(TokenError, match="min_iat"):
        sign_revocation_list(rlist(1, 0, 0, ids(MAX_REVOKED + 1)), ISSUER, kid=KID)


def test_make_revocation_list_raises_the_epoch_when_too_many_are_revoked() -> None:
    revoked = {cti: 1000 + i // 2 for i, cti in enumerate(sorted(ids(10)))}  # two tokens per issue second
    scope: dict[str, Any] = {"space_id": CLAIMS.space_id, "lock_ids": [tokens.LOCK]}
    rl = make_revocation_list(5, 2000, revoked, max_ids=5, **scope)
    assert rl.min_iat == 1003 and len(rl.revoked) == 4  # the oldest three seconds dropped, not one id more
    assert all(rl.is_revoked(_Token(cti, iat)) for cti, iat in revoked.items())
    assert make_revocation_list(5, 2000, revoked, **scope).min_iat == 0
    kept = make_revocation_list(5, 2000, revoked, min_iat=1002, **scope).revoked
    assert kept == {c for c, i in revoked.items() if i >= 1002}


class _Token:
    def __init__(self, cti: bytes, iat: int) -> None:
        self.cti, self.iat, self.space_id = cti, iat, CLAIMS.space_id


@pytest.mark.parametrize("payload", [
    {1: 1, 2: 0, 3: 0}, {1: -1, 2: 0, 3: 0, 4: []}, {1: 0, 2: 0, 3: 0, 4: []}, {1: 1, 2: 0, 3: 0, 4: [b""]},
    {1: 1, 2: 0, 3: 0, 4: "x"}, {1: True, 2: 0, 3: 0, 4: []}, {1: 1, 2: 0, 3: 1, 4: []},
    {1: 1, 2: 0, 3: 0, 4: [], 5: 0}, {1: 1, 2: 0, 3: 0, 4: [b"b" * 16, b"a" * 16]},
    {1: 1, 2: 0, 3: 0, 4: [], 5: b"s" * 16}, {1: 1, 2: 0, 3: 0, 4: [], 5: b"s" * 16, 6: [b"l" * 7]},
    {1: 1, 2: 0, 3: 0, 4: [], 5: b"s" * 16, 6: [b"l" * 8], 7: 0},
    {1: 1, 2: 0, 3: 0, 4: [], 5: b"s" * 16, 6: [bytes([i]) * 8 for i in range(17)]},
    {1: 1, 2: 0, 3: 0, 4: [b"a" * 16, b"a" * 16]}, [1, 2, 3, 4], {1: 2**32, 2: 0, 3: 0, 4: []},
])
def test_malformed_payloads_signed_by_the_issuer(payload: object) -> None:
    assert code_of(crypto.sign1(cbor.dumps(payload), ISSUER, kid=KID, external_aad=REVOCATION_AAD)) == "malformed"


@pytest.mark.parametrize("v", VECTORS["revocation_lists"], ids=lambda v: v["name"])
def test_revocation_list_vector(v: dict[str, Any]) -> None:
    keys = {bytes.fromhex(k): crypto.public_key_from_raw(bytes.fromhex(p)) for k, p in VECTORS["issuer_keys"].items()}
    data = bytes.fromhex(v["data"])
    assert code_of(data, keys) == v["expect"]
    if v["expect"] == "ok":
        assert revocation_list_to_json(verify_revocation_list(data, keys)) == v["list"]


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_token_error(data: bytes) -> None:
    with pytest.raises(TokenError):
        verify_revocation_list(data, KEYS)


SIGNED = sign_revocation_list(rlist(3, 500, 100, ids(4)), ISSUER, kid=KID)


@settings(max_examples=300)
@given(st.data())
def test_mutated_lists_raise_token_error_and_never_verify(data: st.DataObject) -> None:
    mutated = bytearray(SIGNED)
    pos = data.draw(st.integers(0, len(mutated) - 1))
    if data.draw(st.booleans()):
        mutated[pos] ^= data.draw(st.integers(1, 255))
    else:
        mutated[pos:pos + data.draw(st.integers(0, 4))] = data.draw(st.binary(max_size=4))
    assume(bytes(mutated) != SIGNED)
    with contextlib.suppress(TokenError):
        verify_revocation_list(bytes(mutated), KEYS)
        pytest.fail("a changed list verified")
