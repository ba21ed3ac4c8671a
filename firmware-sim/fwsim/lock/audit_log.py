"""The padlock's own audit log: events signed with its key and hash-chained (``protocols.padlock.audit``).

Pure bookkeeping, no I/O: the lock core appends, the gateway fetches. Entries the gateway has fetched
(it asks "since seq N", so it holds everything up to N) may be pruned; unfetched entries are kept up to
``max_kept`` — a real lock's flash is finite too, and a gateway sees the gap as a seq jump.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocols.padlock.audit import GENESIS_HASH, AuditEntry, decode_entry, sign_entry
from protocols.padlock.events import EventKind, EventPermit, LockEvent
from protocols.padlock.gatt import MAX_MESSAGE_BYTES

#: Room for the AuditEntries envelope around the entries (message type, request id, map and array headers).
MESSAGE_OVERHEAD = 32

MAX_KEPT = 4096  # entries the lock stores at most
KEEP_FETCHED = 64  # fetched entries kept anyway (a second gateway, a technician)


@dataclass(slots=True)
class AuditLog:
    last_seq: int = 0  # seq of the newest entry ever logged (never reused, survives pruning)
    last_hash: bytes = GENESIS_HASH  # hash of the newest entry: the next one's prev_hash
    entries: list[bytes] = field(default_factory=list)  # signed entries, oldest first, consecutive seqs
    fetched_through: int = 0  # the highest since_seq a gateway has asked from
    max_kept: int = MAX_KEPT

    def append(self, kind: EventKind, at: int, *, lock_id: bytes, lock_key: Ed25519PrivateKey,
               permit: EventPermit | None = None, value: int | None = None) -> AuditEntry:
        event = LockEvent(seq=self.last_seq + 1, kind=kind, at=at, permit=permit, value=value)
        entry = sign_entry(event, lock_id=lock_id, prev_hash=self.last_hash, lock_key=lock_key)
        self.entries.append(entry.signed)
        self.last_seq, self.last_hash = entry.seq, entry.hash
        self._prune()
        return entry

    def restart_chain(self) -> None:
        """Start a new chain (the lock got a new id): seqs go on, the old entries are dropped."""
        self.entries.clear()
        self.last_hash = GENESIS_HASH
        self.fetched_through = self.last_seq

    def first_seq(self) -> int:
        return self.last_seq - len(self.entries) + 1

    def fetch(self, since_seq: int, limit: int) -> tuple[list[bytes], bool, int]:
        """Entries with seq > ``since_seq`` (from the oldest kept), at most ``limit``; whether more follow; and
        the seq of the last entry returned (``since_seq`` when none)."""
        self.fetched_through = max(self.fetched_through, min(since_seq, self.last_seq))
        first = self.first_seq()
        start = max(0, since_seq + 1 - first)
        batch = self._fitting(self.entries[start:start + limit])
        more = start + len(batch) < len(self.entries)
        through = first + start + len(batch) - 1 if batch else since_seq
        self._prune()
        return batch, more, through

    @staticmethod
    def _fitting(entries: list[bytes]) -> list[bytes]:
        """As many entries as fit one GATT message (at least one); the rest follow with ``more`` set."""
        budget, taken = MAX_MESSAGE_BYTES - MESSAGE_OVERHEAD, 0
        for count, entry in enumerate(entries):
            taken += len(entry) + 3  # a byte-string header of up to 3 bytes per entry
            if taken > budget and count:
                return entries[:count]
        return entries

    def _prune(self) -> None:
        fetched = max(0, self.fetched_through - self.first_seq() + 1)
        drop = max(0, min(fetched - KEEP_FETCHED, len(self.entries)), len(self.entries) - self.max_kept)
        if drop:
            del self.entries[:drop]

    def decoded(self) -> list[AuditEntry]:
        return [decode_entry(e) for e in self.entries]

    def to_record(self) -> dict[str, Any]:
        return {"last_seq": self.last_seq, "last_hash": self.last_hash.hex(),
                "entries": [e.hex() for e in self.entries], "fetched_through": self.fetched_through}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> AuditLog:
        return cls(last_seq=int(record["last_seq"]), last_hash=bytes.fromhex(record["last_hash"]),
                   entries=[bytes.fromhex(e) for e in record["entries"]],
                   fetched_through=int(record["fetched_through"]))
