"""The lock's audit log: each event signed by the lock's own Ed25519 key and hash-chained to the one before.

An entry is a COSE_Sign1 (kid = key id of the lock key, external AAD ``AUDIT_AAD``) over the CBOR map
``{1: lock id, 2: prev hash, 3: event}``. ``prev hash`` is the SHA-256 of the previous entry's exact
bytes (32 zero bytes before the first), so an edited, deleted or reordered entry breaks the chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocols import cbor, crypto
from protocols.errors import GattError
from protocols.fields import FieldReader
from protocols.padlock.events import LockEvent
from protocols.padlock.gatt import HASH_LEN, LOCK_ID_LEN

GENESIS_HASH = bytes(HASH_LEN)
AUDIT_AAD = b"safegrid/padlock/audit/v1"
MAX_ENTRY_BYTES = 512


@dataclass(frozen=True, slots=True)
class AuditEntry:
    lock_id: bytes
    prev_hash: bytes
    event: LockEvent
    signed: bytes  # the COSE_Sign1 exactly as stored, sent and hashed

    @property
    def seq(self) -> int:
        return self.event.seq

    @property
    def hash(self) -> bytes:
        """What the next entry's ``prev_hash`` must be."""
        return crypto.sha256(self.signed)


def sign_entry(event: LockEvent, *, lock_id: bytes, prev_hash: bytes, lock_key: Ed25519PrivateKey) -> AuditEntry:
    """Sign ``event`` as the entry after the one whose hash is ``prev_hash``."""
    if len(lock_id) != LOCK_ID_LEN or len(prev_hash) != HASH_LEN:
        raise GattError("lock id must be 8 bytes and prev hash 32", field="audit")
    payload = cbor.dumps({1: lock_id, 2: prev_hash, 3: event.to_map()})
    signed = crypto.sign1(payload, lock_key, kid=crypto.key_id(lock_key), external_aad=AUDIT_AAD)
    return AuditEntry(lock_id=lock_id, prev_hash=prev_hash, event=event, signed=signed)


def decode_entry(data: bytes) -> AuditEntry:
    """Parse an entry without checking its signature (``verify_chain`` checks)."""
    return _parse(data)[1]


def _parse(data: bytes) -> tuple[crypto.Sign1, AuditEntry]:
    sign1 = crypto.decode_sign1_strict(data, max_bytes=MAX_ENTRY_BYTES, error=GattError)
    f = FieldReader(cbor.loads(sign1.payload, max_bytes=MAX_ENTRY_BYTES, error=GattError), what="audit entry")
    entry = AuditEntry(lock_id=f.bstr(1, "lock_id", size=LOCK_ID_LEN), prev_hash=f.bstr(2, "prev_hash", size=HASH_LEN),
                       event=LockEvent.from_map(f.submap(3, "event")), signed=bytes(data))
    f.finish()
    return sign1, entry


def verify_entry(data: bytes, lock_public_key: Ed25519PublicKey) -> AuditEntry:
    """One entry, signature checked against the lock's key (codes malformed, unknown_kid, bad_signature)."""
    sign1, entry = _parse(data)
    crypto.verify_sign1(sign1, {crypto.key_id(lock_public_key): lock_public_key}, external_aad=AUDIT_AAD,
                        error=GattError)
    return entry


def verify_chain(entries: Sequence[bytes], lock_public_key: Ed25519PublicKey, prev_hash: bytes = GENESIS_HASH, *,
                 after_seq: int | None = None, lock_id: bytes | None = None) -> list[AuditEntry]:
    """Verify consecutive entries continuing the chain at ``prev_hash``; return them decoded.

    ``after_seq`` is the seq of the entry whose hash is ``prev_hash`` (0 at the genesis hash), so the first
    entry must be ``after_seq + 1``. Raises GattError: ``bad_signature``/``unknown_kid`` for a forged entry,
    ``broken_chain`` for an edited, deleted or reordered one, ``wrong_lock`` for another lock's entry.
    A verifier that must also notice a deleted tail compares the last seq with the lock's advertised one.
    """
    if after_seq is None and prev_hash == GENESIS_HASH:
        after_seq = 0
    out: list[AuditEntry] = []
    for index, data in enumerate(entries):
        entry = verify_entry(data, lock_public_key)
        if lock_id is None:
            lock_id = entry.lock_id
        if entry.lock_id != lock_id:
            raise GattError(f"entry {index} belongs to another lock", code="wrong_lock", field="lock_id")
        if entry.prev_hash != prev_hash:
            raise GattError(f"entry {index} (seq {entry.seq}) does not follow the previous entry",
                            code="broken_chain", field="prev_hash")
        if after_seq is not None and entry.seq != after_seq + 1:
            raise GattError(f"entry {index} has seq {entry.seq}, expected {after_seq + 1}",
                            code="broken_chain", field="seq")
        out.append(entry)
        prev_hash, after_seq = entry.hash, entry.seq
    return out
