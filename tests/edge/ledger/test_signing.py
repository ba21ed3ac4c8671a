"""The signed ledger head: round trip with the gateway key, and refusal of anything else."""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.ledger.chain import GENESIS, Head, LedgerError, chain_next
from edge.ledger.signing import LEDGER_HEAD_AAD, sign_head, verify_signed_head
from protocols import cbor, crypto
from protocols.vectorgen import seeded_key

GATEWAY = seeded_key("ledger-test-gateway")
OTHER = seeded_key("ledger-test-other")
KEYS = {crypto.key_id(GATEWAY): GATEWAY.public_key()}


def test_round_trip() -> None:
    head = chain_next(GENESIS, 1, "alarm", {"x": 1}).head
    signed = sign_head(head, GATEWAY)
    assert verify_signed_head(signed, KEYS) == head


def test_another_key_or_another_purpose_is_refused() -> None:
    head = Head(7, bytes(range(32)))
    with pytest.raises(LedgerError) as info:
        verify_signed_head(sign_head(head, OTHER), KEYS)
    assert info.value.code == "unknown_kid"
    # The same payload signed for another purpose (another external AAD) must not pass as a head.
    other_purpose = crypto.sign1(cbor.dumps({1: 7, 2: bytes(32)}), GATEWAY, kid=crypto.key_id(GATEWAY),
                                 external_aad=b"safegrid/padlock/time-set/v1")
    with pytest.raises(LedgerError) as info:
        verify_signed_head(other_purpose, KEYS)
    assert info.value.code == "bad_signature"


@pytest.mark.parametrize("payload", [{1: 7}, {1: -1, 2: bytes(32)}, {1: 7, 2: bytes(31)}, [7, bytes(32)],
                                     {1: 7, 2: bytes(32), 3: 0}, {1: True, 2: bytes(32)}])
def test_malformed_payloads_are_refused(payload: object) -> None:
    signed = crypto.sign1(cbor2.dumps(payload, canonical=True), GATEWAY, kid=crypto.key_id(GATEWAY),
                          external_aad=LEDGER_HEAD_AAD)
    with pytest.raises(LedgerError) as info:
        verify_signed_head(signed, KEYS)
    assert info.value.code == "malformed"


@given(st.binary(max_size=600))
def test_random_bytes_raise_only_ledger_error(data: bytes) -> None:
    with pytest.raises(LedgerError):
        verify_signed_head(data, KEYS)


@given(st.integers(0, 200), st.integers(0, 255))
def test_any_flipped_byte_is_refused(position: int, flip: int) -> None:
    signed = bytearray(sign_head(Head(42, bytes(32)), GATEWAY))
    position %= len(signed)
    signed[position] ^= flip or 1
    with pytest.raises(LedgerError):
        verify_signed_head(bytes(signed), KEYS)
