"""The gateway's audit-chain check: signature by the lock key, prev-hash linkage, seq continuity, tail."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.drivers.ble.chain import ChainCursor, check_not_ahead, check_tail, verify_fetched
from edge.drivers.ble.errors import LINK_ERROR_CODES, PadlockLinkError, link_errors
from padlock_client.errors import CLIENT_ERROR_CODES, LinkLost, LockBusy
from protocols import crypto
from protocols.padlock.audit import GENESIS_HASH, sign_entry
from protocols.padlock.events import EventKind, LockEvent

LOCK_ID = bytes.fromhex("0102030405060708")
LOCK_KEY = crypto.generate_private_key()
OTHER_KEY = crypto.generate_private_key()


def chain(count: int, *, first_seq: int = 1, prev_hash: bytes = GENESIS_HASH, key=LOCK_KEY,
          lock_id: bytes = LOCK_ID) -> list[bytes]:
    out = []
    for seq in range(first_seq, first_seq + count):
        entry = sign_entry(LockEvent(seq=seq, kind=EventKind.LOW_BATTERY, at=1_750_000_000 + seq, value=15),
                           lock_id=lock_id, prev_hash=prev_hash, lock_key=key)
        out.append(entry.signed)
        prev_hash = entry.hash
    return out


def verify(entries: list[bytes], cursor: ChainCursor = ChainCursor()) -> list[int]:
    return [e.seq for e in verify_fetched(entries, lock_public_key=LOCK_KEY.public_key(), lock_id=LOCK_ID,
                                          cursor=cursor)]


def test_a_whole_chain_from_genesis_verifies_and_the_cursor_follows_it() -> None:
    entries = verify_fetched(chain(4), lock_public_key=LOCK_KEY.public_key(), lock_id=LOCK_ID, cursor=ChainCursor())
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    cursor = ChainCursor().after(entries)
    assert (cursor.seq, cursor.hash) == (4, crypto.sha256(entries[-1].signed))
    assert ChainCursor(3, b"\x01" * 32).after([]) == ChainCursor(3, b"\x01" * 32)


def test_a_continuation_is_checked_against_the_stored_hash_and_seq() -> None:
    full = chain(6)
    head = verify_fetched(full[:3], lock_public_key=LOCK_KEY.public_key(), lock_id=LOCK_ID, cursor=ChainCursor())
    cursor = ChainCursor().after(head)
    assert verify(full[3:], cursor) == [4, 5, 6]
    with pytest.raises(PadlockLinkError) as wrong_hash:
        verify(full[3:], ChainCursor(3, b"\x07" * 32))
    assert wrong_hash.value.code == "bad_chain"
    with pytest.raises(PadlockLinkError) as gap:  # the stored seq is 2 but the lock continues at 4
        verify(full[3:], ChainCursor(2, cursor.hash))
    assert gap.value.code == "bad_chain"


def test_without_a_stored_hash_the_first_link_is_taken_on_trust_but_seq_and_signatures_are_not() -> None:
    full = chain(5)
    assert verify(full[2:], ChainCursor(2, None)) == [3, 4, 5]
    with pytest.raises(PadlockLinkError, match="bad_chain"):
        verify(full[3:], ChainCursor(2, None))
    forged = chain(2, first_seq=3, key=OTHER_KEY)
    with pytest.raises(PadlockLinkError, match="bad_chain"):
        verify(forged, ChainCursor(2, None))


def test_a_first_fetch_accepts_a_chain_restarted_at_provisioning_with_later_seqs() -> None:
    assert verify(chain(3, first_seq=7)) == [7, 8, 9]
    with pytest.raises(PadlockLinkError, match="bad_chain"):  # but it must start at the genesis hash
        verify(chain(3, first_seq=7)[1:])


@pytest.mark.parametrize("damage", ["edited", "deleted", "reordered", "resigned_by_another_key", "other_lock"])
def test_every_kind_of_tampering_is_a_bad_chain(damage: str) -> None:
    entries = chain(5)
    if damage == "edited":
        # Without the lock's key an attacker can only edit bytes (here: inside the signed payload).
        raw = bytearray(entries[2])
        raw[-70] ^= 0x01
        entries[2] = bytes(raw)
    elif damage == "deleted":
        del entries[2]
    elif damage == "reordered":
        entries[1], entries[2] = entries[2], entries[1]
    elif damage == "resigned_by_another_key":
        entries[2:] = chain(3, first_seq=3, key=OTHER_KEY, prev_hash=crypto.sha256(entries[1]))
    else:
        entries = chain(5, lock_id=bytes(8))
    with pytest.raises(PadlockLinkError) as caught:
        verify(entries)
    assert caught.value.code == "bad_chain"


@settings(max_examples=150, deadline=None)
@given(index=st.integers(0, 3), position=st.integers(0, 10_000), flip=st.integers(1, 255))
def test_any_flipped_byte_in_any_entry_is_caught_as_bad_chain(index: int, position: int, flip: int) -> None:
    entries = chain(4)
    raw = bytearray(entries[index])
    raw[position % len(raw)] ^= flip
    entries[index] = bytes(raw)
    with pytest.raises(PadlockLinkError) as caught:
        verify(entries)
    assert caught.value.code == "bad_chain"


@settings(max_examples=100, deadline=None)
@given(junk=st.lists(st.binary(min_size=0, max_size=600), min_size=1, max_size=4))
def test_random_bytes_as_entries_are_a_bad_chain_never_another_exception(junk: list[bytes]) -> None:
    with pytest.raises(PadlockLinkError) as caught:
        verify(junk)
    assert caught.value.code == "bad_chain"


def test_a_deleted_tail_and_a_lock_behind_the_gateway_are_bad_chains() -> None:
    check_tail(7, 7, lock_id=LOCK_ID)
    check_tail(8, 7, lock_id=LOCK_ID)  # an event logged during the visit
    with pytest.raises(PadlockLinkError, match="missing at the end") as tail:
        check_tail(6, 7, lock_id=LOCK_ID)
    assert tail.value.code == "bad_chain"
    check_not_ahead(ChainCursor(7, None), 7, lock_id=LOCK_ID)
    with pytest.raises(PadlockLinkError, match="already holds") as ahead:
        check_not_ahead(ChainCursor(9, None), 7, lock_id=LOCK_ID)
    assert ahead.value.code == "bad_chain"


def test_cursor_and_error_validation() -> None:
    with pytest.raises(ValueError):
        ChainCursor(-1)
    with pytest.raises(ValueError):
        ChainCursor(1, b"short")
    with pytest.raises(ValueError):
        PadlockLinkError("x", code="no_such_code")


def test_the_padlock_clients_errors_become_the_gateways_with_their_code() -> None:
    assert CLIENT_ERROR_CODES <= LINK_ERROR_CODES
    busy = PadlockLinkError.of(LockBusy("the padlock answered InfoRequest with busy", result="busy", retry_after=2.0))
    assert (busy.code, busy.result, busy.retry_after) == ("busy", "busy", 2.0)
    assert str(busy) == "busy: the padlock answered InfoRequest with busy"
    with pytest.raises(PadlockLinkError) as caught, link_errors():
        raise LinkLost("gone")
    assert caught.value.code == "link_lost" and isinstance(caught.value.__cause__, LinkLost)
