"""Signed, hash-chained audit entries: they verify, and edits, deletions and reordering are detected."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols import crypto
from protocols.errors import GattError
from protocols.fields import FieldReader
from protocols.padlock.audit import GENESIS_HASH, AuditEntry, decode_entry, sign_entry, verify_chain
from protocols.padlock.events import EventKind, EventPermit, LockEvent
from tests.protocols.padlock.strategies import lock_events

LOCK_KEY = crypto.private_key_from_raw(bytes(range(32)))
LOCK_PUB = LOCK_KEY.public_key()
LOCK_ID = bytes.fromhex("0011223344556677")
PERMIT = EventPermit(token_id=b"t" * 16, permit_id=b"p" * 16, space_id=b"s" * 16, worker_id=b"w" * 16,
                     exp=1_700_003_600, max_duration_s=3600, entrant_limit=2, drill=False)


def chain(n: int, *, lock_id: bytes = LOCK_ID, prev: bytes = GENESIS_HASH, first_seq: int = 1) -> list[AuditEntry]:
    kinds = [(EventKind.OPENED, PERMIT, None), (EventKind.CLOSED, PERMIT, None), (EventKind.LOW_BATTERY, None, 15),
             (EventKind.TAMPER, None, None)]
    out = []
    for i in range(n):
        kind, permit, value = kinds[i % len(kinds)]
        event = LockEvent(seq=first_seq + i, kind=kind, at=1_700_000_000 + i, permit=permit, value=value)
        entry = sign_entry(event, lock_id=lock_id, prev_hash=prev, lock_key=LOCK_KEY)
        out.append(entry)
        prev = entry.hash
    return out


def signed(entries: list[AuditEntry]) -> list[bytes]:
    return [e.signed for e in entries]


def code_of(entries: list[bytes], **kwargs: object) -> str:
    with pytest.raises(GattError) as err:
        verify_chain(entries, LOCK_PUB, **kwargs)  # type: ignore[arg-type]
    return err.value.code


def test_a_chain_verifies_and_decodes() -> None:
    entries = chain(6)
    verified = verify_chain(signed(entries), LOCK_PUB)
    assert [e.seq for e in verified] == [1, 2, 3, 4, 5, 6]
    assert verified[0].event.permit == PERMIT
    assert verified == entries


def test_a_chain_continues_from_a_known_entry() -> None:
    entries = chain(5)
    rest = verify_chain(signed(entries[3:]), LOCK_PUB, entries[2].hash, after_seq=3)
    assert [e.seq for e in rest] == [4, 5]
    assert code_of(signed(entries[3:]), prev_hash=entries[1].hash, after_seq=2) == "broken_chain"


def test_edit_delete_reorder_and_forgery_are_detected() -> None:
    entries = signed(chain(5))
    edited = bytearray(entries[2])
    edited[-70] ^= 1  # inside the payload: the signature no longer matches
    assert code_of([*entries[:2], bytes(edited), *entries[3:]]) in ("bad_signature", "malformed")
    assert code_of([*entries[:2], *entries[3:]]) == "broken_chain"  # deleted
    assert code_of([entries[0], entries[2], entries[1], *entries[3:]]) == "broken_chain"  # reordered
    assert code_of(entries[1:]) == "broken_chain"  # the first entry deleted

    # Re-signing an edited entry needs the lock's key; even then the next entry's prev hash breaks.
    original = chain(5)
    resigned = sign_entry(LockEvent(seq=3, kind=EventKind.LOW_BATTERY, at=1, value=99), lock_id=LOCK_ID,
                          prev_hash=original[1].hash, lock_key=LOCK_KEY)
    assert code_of([*entries[:2], resigned.signed, *entries[3:]]) == "broken_chain"

    forger = crypto.private_key_from_raw(bytes(32))
    forged = sign_entry(original[2].event, lock_id=LOCK_ID, prev_hash=original[1].hash, lock_key=forger)
    assert code_of([*entries[:2], forged.signed]) == "unknown_kid"


def test_entries_of_another_lock_are_refused() -> None:
    ours = chain(2)
    theirs = chain(1, lock_id=bytes(8), prev=ours[1].hash, first_seq=3)
    assert code_of(signed(ours + theirs)) == "wrong_lock"
    assert code_of(signed(ours), lock_id=bytes(8)) == "wrong_lock"


def test_opened_event_permit_from_token_claims() -> None:
    claims = SimpleNamespace(cti=b"c" * 16, permit_id=b"p" * 16, space_id=b"s" * 16, worker_id=b"w" * 16, exp=99,
                             max_duration_s=1800, entrant_limit=3, drill=True, iss="x")
    permit = EventPermit.from_claims(claims)  # type: ignore[arg-type]
    assert permit.token_id == b"c" * 16 and permit.drill and permit.max_duration_s == 1800


def test_event_field_rules() -> None:
    with pytest.raises(GattError):
        LockEvent(seq=1, kind=EventKind.OPENED, at=0)  # opened needs the permit
    with pytest.raises(GattError):
        LockEvent(seq=1, kind=EventKind.TAMPER, at=0, permit=PERMIT)
    with pytest.raises(GattError):
        LockEvent(seq=1, kind=EventKind.LOW_BATTERY, at=0)  # needs the battery value
    with pytest.raises(GattError):
        LockEvent(seq=0, kind=EventKind.TAMPER, at=0)


@given(lock_events())
def test_events_round_trip(event: LockEvent) -> None:
    assert LockEvent.from_map(FieldReader(event.to_map(), what="event")) == event
    entry = sign_entry(event, lock_id=LOCK_ID, prev_hash=GENESIS_HASH, lock_key=LOCK_KEY)
    assert decode_entry(entry.signed) == entry


@given(st.binary(max_size=400))
def test_random_bytes_into_entry_decoding_only_raise_gatt_error(data: bytes) -> None:
    with contextlib.suppress(GattError):
        decode_entry(data)


@given(lock_events(), st.data())
def test_mutated_entries_only_raise_gatt_error_and_never_verify(event: LockEvent, data: st.DataObject) -> None:
    entry = bytearray(sign_entry(event, lock_id=LOCK_ID, prev_hash=GENESIS_HASH, lock_key=LOCK_KEY).signed)
    entry[data.draw(st.integers(0, len(entry) - 1))] ^= data.draw(st.integers(1, 255))
    with contextlib.suppress(GattError):
        decode_entry(bytes(entry))
    with pytest.raises(GattError):
        verify_chain([bytes(entry)], LOCK_PUB, after_seq=event.seq - 1)
