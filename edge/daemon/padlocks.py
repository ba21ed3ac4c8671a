"""Padlock events into the daemon, and pushes out to padlocks.

Whatever carries a padlock's audit entries — the BLE link fetching them, or a phone relaying what it read —
they take one path here: entries already held are skipped, the rest must be signed by the lock's own key and
continue the chain the gateway holds (``edge.drivers.ble.chain``), and only then does a verified event become a
session input. An opened event carries the claims of the token the lock verified offline, so a gateway that
never received the permit from the cloud still knows the work window, the deadline and the entrant limit.

Pushes (gas attestations, deferred revocation or trust lists, signed time) are handed to a :class:`PushPort`:
the BLE link when one is configured, else :class:`HeldPushes`, which keeps the latest of each kind for the
next carrier (a phone or a technician).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.config import PadlockConfig
from edge.core.attestation import AttestationDecision
from edge.core.session_io import LockAlert, LockClosed, LockOpened, OpenMethod, Permit, PermitPushed, SessionInput
from edge.drivers.ble.chain import ChainCursor, verify_fetched
from edge.drivers.ble.errors import PadlockLinkError
from protocols.errors import ProtocolError
from protocols.padlock.audit import AuditEntry, decode_entry
from protocols.padlock.events import EventKind, LockEvent
from protocols.padlock.pushes import GasAttestation, sign_gas_attestation


class PushPort(Protocol):
    async def push(self, lock_id: str, kind: str, signed: bytes) -> None: ...


def held_push_key(kind: str, lock_id: str) -> str:
    """The key of a push held for one padlock (a revocation list: each lock gets the list of its own scope)."""
    return f"{kind}@{lock_id}"


def push_kind(held_key: str) -> str:
    """The push kind of a held key (``held_push_key``, or a kind held for every padlock, e.g. ``trust_list``)."""
    return held_key.partition("@")[0]


class HeldPushes:
    """Without a radio link: the latest signed push of each kind per lock, for whatever carries it next."""

    def __init__(self) -> None:
        self.latest: dict[tuple[str, str], bytes] = {}
        self.count = 0

    async def push(self, lock_id: str, kind: str, signed: bytes) -> None:
        self.latest[(lock_id, kind)] = signed
        self.count += 1


def sign_attestation(decision: AttestationDecision, key: Ed25519PrivateKey) -> bytes:
    """The padlock's gas attestation (protocols/padlock.md) for a granted decision."""
    assert decision.granted and decision.issued_at is not None and decision.valid_until is not None
    attestation = GasAttestation(space_id=bytes.fromhex(decision.space), all_in_range=True,
                                 measured_at=decision.issued_at, valid_until=decision.valid_until)
    return sign_gas_attestation(attestation, key)


@dataclass(slots=True)
class LockState:
    config: PadlockConfig
    key: Ed25519PublicKey
    cursor: ChainCursor


class AuditIntake:
    """Verifies audit entries per lock against the chain the gateway holds; the cursors are persisted by the
    daemon (:meth:`cursors` / ``restore``)."""

    def __init__(self, locks: Sequence[PadlockConfig]) -> None:
        self.locks = {lock.id: LockState(lock, Ed25519PublicKey.from_public_bytes(bytes.fromhex(lock.public_key)),
                                         ChainCursor()) for lock in locks}

    def space_of(self, lock_id: str) -> str:
        return self._lock(lock_id).config.space

    def _lock(self, lock_id: str) -> LockState:
        state = self.locks.get(lock_id)
        if state is None:
            raise PadlockLinkError(f"lock {lock_id} is not configured on this gateway", code="bad_response",
                                   field="lock_id")
        return state

    def verify(self, lock_id: str, entries: Sequence[bytes]) -> list[AuditEntry]:
        """The entries not held yet, verified; PadlockLinkError ``bad_chain`` if one does not verify."""
        state = self._lock(lock_id)
        fresh = []
        for data in entries:
            try:
                seq = decode_entry(data).seq
            except ProtocolError as exc:
                raise PadlockLinkError(f"lock {lock_id}: undecodable audit entry: {exc}", code="bad_chain",
                                       field=exc.field) from exc
            if seq > state.cursor.seq:
                fresh.append(data)
        return verify_fetched(fresh, lock_public_key=state.key, lock_id=bytes.fromhex(lock_id), cursor=state.cursor)

    def advance(self, lock_id: str, entries: Sequence[AuditEntry]) -> None:
        """Once the entries are stored: the next fetch continues after them."""
        state = self._lock(lock_id)
        state.cursor = state.cursor.after(entries)

    def cursors(self) -> dict[str, dict[str, object]]:
        return {lock: {"seq": s.cursor.seq, "hash": s.cursor.hash.hex() if s.cursor.hash else None}
                for lock, s in self.locks.items()}

    def restore(self, data: Mapping[str, Mapping[str, Any]]) -> None:
        for lock, cursor in data.items():
            if lock in self.locks:
                digest = cursor.get("hash")
                self.locks[lock].cursor = ChainCursor(int(cursor["seq"]),
                                                      bytes.fromhex(digest) if isinstance(digest, str) else None)


def permit_from_event(event: LockEvent, lock_id: str) -> Permit | None:
    """The permit an opened event vouches for (the lock verified the token's signature and window)."""
    p = event.permit
    if event.kind is not EventKind.OPENED or p is None:
        return None
    return Permit(permit_id=p.permit_id.hex(), space=p.space_id.hex(), lock_ids=frozenset({lock_id}),
                  not_before=min(event.at, p.exp), expires=p.exp, max_duration_s=p.max_duration_s,
                  entrant_limit=p.entrant_limit)


def session_inputs(event: LockEvent, lock_id: str, *, known_permit: str | None, session_open: bool
                   ) -> list[SessionInput]:
    """What a verified lock event tells the space's session (empty for events that only go on record)."""
    kind = event.kind
    if kind is EventKind.OPENED:
        assert event.permit is not None
        permit_id = event.permit.permit_id.hex()
        out: list[SessionInput] = []
        permit = permit_from_event(event, lock_id)
        if permit is not None and permit_id != known_permit and not session_open:
            out.append(PermitPushed(permit))  # the lock's word for a permit the cloud has not pushed (offline)
        out.append(LockOpened(lock_id, OpenMethod.TOKEN, permit_id))
        return out
    if kind is EventKind.CLOSED:
        return [LockClosed(lock_id)]
    if kind is EventKind.FORCED_OPEN:
        return [LockOpened(lock_id, OpenMethod.FORCED)]
    if kind is EventKind.MECHANICAL_KEY:
        return [LockOpened(lock_id, OpenMethod.MECHANICAL_KEY)]
    if kind is EventKind.TAMPER:
        return [LockAlert(lock_id, tamper=True)]
    if kind is EventKind.LOW_BATTERY:
        return [LockAlert(lock_id, tamper=False)]
    return []
