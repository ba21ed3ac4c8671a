"""Where the gateway's copy of a lock's audit chain ends, and the check that fetched entries continue it.

Pure: no I/O. The caller persists the :class:`ChainCursor` (seq and hash of the last entry it stored) and
hands it back on the next fetch; entries are accepted only if they are signed by the lock's key, link to the
cursor's hash and carry consecutive seqs from the cursor's seq. Anything else is ``bad_chain`` — reported,
never skipped over, and the cursor does not move past a break.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.drivers.ble.errors import PadlockLinkError
from protocols.errors import ProtocolError
from protocols.padlock.audit import GENESIS_HASH, AuditEntry, decode_entry, verify_chain
from protocols.padlock.gatt import HASH_LEN


@dataclass(frozen=True, slots=True)
class ChainCursor:
    """The last stored entry: its ``seq`` (0: none yet) and its ``hash`` (None: not stored, linkage of the first
    fetched entry is then taken on trust — store the hash to check it)."""

    seq: int = 0
    hash: bytes | None = GENESIS_HASH

    def __post_init__(self) -> None:
        if not 0 <= self.seq < 2**32:
            raise ValueError("a cursor seq is 0..2**32-1")
        if self.hash is not None and len(self.hash) != HASH_LEN:
            raise ValueError("a cursor hash is 32 bytes")

    def after(self, entries: Sequence[AuditEntry]) -> ChainCursor:
        """The cursor once ``entries`` (verified, consecutive) are stored."""
        return ChainCursor(entries[-1].seq, entries[-1].hash) if entries else self


def verify_fetched(entries: Sequence[bytes], *, lock_public_key: Ed25519PublicKey, lock_id: bytes,
                   cursor: ChainCursor) -> list[AuditEntry]:
    """Verify entries fetched after ``cursor``; PadlockLinkError ``bad_chain`` naming the reason otherwise."""
    if not entries:
        return []
    prev_hash, after_seq = cursor.hash, cursor.seq
    try:
        if prev_hash is None:
            # No stored hash: accept the first entry's link, but still its signature and seq.
            prev_hash = decode_entry(entries[0]).prev_hash
        elif after_seq == 0:
            # Nothing stored yet: the chain must start at the genesis hash, but its seqs may not start at 1
            # (a lock re-provisioned with a new id restarts its chain and keeps counting).
            after_seq = decode_entry(entries[0]).seq - 1
        return verify_chain(entries, lock_public_key, prev_hash, after_seq=after_seq, lock_id=lock_id)
    except ProtocolError as exc:
        raise PadlockLinkError(f"audit chain of lock {lock_id.hex()} after seq {cursor.seq} does not verify: {exc}",
                               code="bad_chain", field=exc.field) from exc


def check_not_ahead(cursor: ChainCursor, lock_seq: int, *, lock_id: bytes) -> None:
    """Before fetching: a lock whose newest seq is below the gateway's was wiped or replaced."""
    if cursor.seq > lock_seq:
        raise PadlockLinkError(f"lock {lock_id.hex()} says its newest entry is seq {lock_seq}, but the gateway "
                               f"already holds seq {cursor.seq}", code="bad_chain", field="event_seq")


def check_tail(last_seq: int, lock_seq: int, *, lock_id: bytes) -> None:
    """After a complete fetch (``more`` false): the lock said, when the visit began, that its newest entry was
    ``lock_seq``; ending below it means entries were deleted from the end of the log."""
    if last_seq < lock_seq:
        raise PadlockLinkError(f"entries are missing at the end of lock {lock_id.hex()}'s log: fetched through "
                               f"seq {last_seq}, the lock said {lock_seq}", code="bad_chain", field="event_seq")


__all__ = ["GENESIS_HASH", "ChainCursor", "check_not_ahead", "check_tail", "verify_fetched"]
