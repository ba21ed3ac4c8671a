"""Lock events: what happened at the hatch, numbered by a per-lock sequence, as logged and reported.

An event travels inside a signed audit entry (``protocols.padlock.audit``), both when notified live and
when fetched later, so the gateway trusts exactly what the lock signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol

from protocols.errors import GattError
from protocols.fields import FieldReader
from protocols.padlock.gatt import ID_LEN

MAX_SEQ = 2**32 - 1
MAX_TOKEN_ID_LEN = 32


class EventKind(IntEnum):
    OPENED = 1  # opened with a permit: carries the permit's claims
    CLOSED = 2  # shackle closed; carries the session's permit when there was one
    FORCED_OPEN = 3  # opened without an unlock (shackle cut, body forced)
    MECHANICAL_KEY = 4  # opened with the override key
    TAMPER = 5  # tamper switch
    LOW_BATTERY = 6  # value: battery %
    UNLOCK_REFUSED = 7  # value: the result number
    TIME_SET = 8  # value: the lock's trusted time before the change
    TRUST_UPDATED = 9  # value: the new trust-list version
    REVOCATIONS_UPDATED = 10  # value: the new revocation-list version
    PROVISIONED = 11
    POWER_ON = 12
    ABUSE = 13  # value: junk requests (refused, proving nothing) in the current window; logged at 10, 100, 1000 …


_NEEDS_VALUE = frozenset({EventKind.LOW_BATTERY, EventKind.UNLOCK_REFUSED, EventKind.TIME_SET,
                          EventKind.TRUST_UPDATED, EventKind.REVOCATIONS_UPDATED, EventKind.ABUSE})
_MAY_CARRY_PERMIT = frozenset({EventKind.OPENED, EventKind.CLOSED})


class _Claims(Protocol):
    """What ``from_claims`` reads of a token's claims (read-only, so a frozen ``PermitClaims`` fits)."""

    @property
    def cti(self) -> bytes: ...
    @property
    def permit_id(self) -> bytes: ...
    @property
    def space_id(self) -> bytes: ...
    @property
    def worker_id(self) -> bytes: ...
    @property
    def exp(self) -> int: ...
    @property
    def max_duration_s(self) -> int: ...
    @property
    def entrant_limit(self) -> int: ...
    @property
    def drill(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class EventPermit:
    """The claims of the unlocking token that the gateway needs to run the session."""

    token_id: bytes  # the token's cti
    permit_id: bytes
    space_id: bytes
    worker_id: bytes
    exp: int
    max_duration_s: int
    entrant_limit: int
    drill: bool

    @classmethod
    def from_claims(cls, claims: _Claims) -> EventPermit:
        return cls(token_id=claims.cti, permit_id=claims.permit_id, space_id=claims.space_id,
                   worker_id=claims.worker_id, exp=claims.exp, max_duration_s=claims.max_duration_s,
                   entrant_limit=claims.entrant_limit, drill=claims.drill)

    def to_map(self) -> dict[int, Any]:
        return {1: self.token_id, 2: self.permit_id, 3: self.space_id, 4: self.worker_id, 5: self.exp,
                6: self.max_duration_s, 7: self.entrant_limit, 8: self.drill}

    @classmethod
    def from_map(cls, f: FieldReader) -> EventPermit:
        permit = cls(token_id=f.bstr(1, "token_id", min_size=1, max_size=MAX_TOKEN_ID_LEN),
                     permit_id=f.bstr(2, "permit_id", size=ID_LEN), space_id=f.bstr(3, "space_id", size=ID_LEN),
                     worker_id=f.bstr(4, "worker_id", size=ID_LEN), exp=f.uint(5, "exp"),
                     max_duration_s=f.uint(6, "max_duration_s"), entrant_limit=f.uint(7, "entrant_limit"),
                     drill=f.boolean(8, "drill"))
        f.finish()
        return permit


@dataclass(frozen=True, slots=True)
class LockEvent:
    seq: int  # 1, 2, 3 … per lock, never reused (survives power cycles)
    kind: EventKind
    at: int  # the lock's trusted time, Unix seconds
    permit: EventPermit | None = None  # required for OPENED, optional for CLOSED, absent otherwise
    value: int | None = None  # meaning per kind (see EventKind); required exactly for those kinds

    def __post_init__(self) -> None:
        if not 1 <= self.seq <= MAX_SEQ:
            raise GattError("event seq must be 1..2**32-1", field="seq")
        if self.kind is EventKind.OPENED and self.permit is None:
            raise GattError("an opened event carries the permit", field="permit")
        if self.permit is not None and self.kind not in _MAY_CARRY_PERMIT:
            raise GattError(f"a {self.kind.name.lower()} event carries no permit", field="permit")
        if (self.value is not None) != (self.kind in _NEEDS_VALUE):
            raise GattError(f"a {self.kind.name.lower()} event {'needs' if self.value is None else 'has no'} value",
                            field="value")

    def to_map(self) -> dict[int, Any]:
        out: dict[int, Any] = {1: self.seq, 2: int(self.kind), 3: self.at}
        if self.permit is not None:
            out[4] = self.permit.to_map()
        if self.value is not None:
            out[5] = self.value
        return out

    @classmethod
    def from_map(cls, f: FieldReader) -> LockEvent:
        kind_number = f.uint(2, "kind", maximum=0xFF)
        try:
            kind = EventKind(kind_number)
        except ValueError:
            raise f.fail(f"unknown event kind {kind_number}", "kind") from None
        permit = EventPermit.from_map(f.submap(4, "permit")) if f.present(4) else None
        event = cls(seq=f.uint(1, "seq", maximum=MAX_SEQ), kind=kind, at=f.uint(3, "at"), permit=permit,
                    value=f.optional_uint(5, "value"))
        f.finish()
        return event
