"""The inputs a confined-space session reacts to and the actions it asks the adapters to carry out.

Inputs come from the padlock link (lock events), the cloud (permits, revocations, pushes to send), the gas
evaluation, the attendant and the clock. Actions are plain data; nothing here does anything by itself. No action
can lock a hatch: the core raises alarms and evacuates, it never bars the way out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from edge.core.alarms import AlarmEvent, SirenPattern
from edge.core.attestation import AttestationDecision, DetectorHealth
from edge.core.gas import GasState

# --- inputs -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Permit:
    """An approved permit as pushed (signed) by the cloud; times are wall seconds.

    ``max_duration_s`` bounds the continuous time from the hatch opening; ``ventilation`` means the hatch first
    opens for ventilation with entry barred until the gases have stayed in range and the attendant confirms.
    """

    permit_id: str
    space: str
    lock_ids: frozenset[str]
    not_before: int
    expires: int
    max_duration_s: int
    entrant_limit: int
    ventilation: bool = False

    def valid_at(self, wall: int) -> bool:
        return self.not_before <= wall < self.expires

    def to_dict(self) -> dict[str, Any]:
        return {
            "permit_id": self.permit_id,
            "space": self.space,
            "lock_ids": sorted(self.lock_ids),
            "not_before": self.not_before,
            "expires": self.expires,
            "max_duration_s": self.max_duration_s,
            "entrant_limit": self.entrant_limit,
            "ventilation": self.ventilation,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Permit:
        return cls(**{**d, "lock_ids": frozenset(d["lock_ids"])})


class OpenMethod(StrEnum):
    """How the padlock says it was opened."""

    TOKEN = "token"  # a permit token it verified
    FORCED = "forced"
    MECHANICAL_KEY = "mechanical_key"
    UNKNOWN_TOKEN = "unknown_token"


@dataclass(frozen=True, slots=True)
class PermitPushed:
    permit: Permit


@dataclass(frozen=True, slots=True)
class PermitRevoked:
    permit_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class LockOpened:
    lock_id: str
    method: OpenMethod
    permit_id: str | None = None


@dataclass(frozen=True, slots=True)
class LockClosed:
    lock_id: str


@dataclass(frozen=True, slots=True)
class LockAlert:
    """Tamper or low battery reported by a padlock; ``active`` False when it reports the condition gone."""

    lock_id: str
    tamper: bool
    active: bool = True


@dataclass(frozen=True, slots=True)
class EntrantIn:
    person: str
    by: str = "attendant"


@dataclass(frozen=True, slots=True)
class EntrantOut:
    person: str
    by: str = "attendant"


@dataclass(frozen=True, slots=True)
class EntryConfirmed:
    """The attendant confirms entry (after ventilation, or to resume after a suspension)."""

    by: str


@dataclass(frozen=True, slots=True)
class GasUpdate:
    state: GasState
    detectors: tuple[DetectorHealth, ...]


@dataclass(frozen=True, slots=True)
class PadlockPushRequested:
    """The cloud wants something sent to a padlock that changes what it trusts (revocation list, keys)."""

    lock_id: str
    what: str


@dataclass(frozen=True, slots=True)
class Tick:
    """Only the clock moved."""


@dataclass(frozen=True, slots=True)
class StateLost:
    """A file of the gateway's state could not be read and was started afresh (``file``: its name).

    ``unknown_past``: what the file held about this space is gone (state.json: sessions, entrants, latched
    alarms), so the space is treated as possibly occupied until the attendant confirms it empty. Otherwise (the
    outbox, the ledger, the replay counters) the loss is reported as an alarm that clears at once and closes
    when acknowledged."""

    file: str
    reason: str
    unknown_past: bool


@dataclass(frozen=True, slots=True)
class SpaceConfirmedEmpty:
    """The attendant has looked and confirms nobody is inside (ends the possibly-occupied state of a lost state)."""

    by: str


SessionInput = (
    PermitPushed
    | PermitRevoked
    | LockOpened
    | LockClosed
    | LockAlert
    | EntrantIn
    | EntrantOut
    | EntryConfirmed
    | GasUpdate
    | PadlockPushRequested
    | Tick
    | StateLost
    | SpaceConfirmedEmpty
)

# --- actions ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordAlarm:
    """An alarm step to log and send up (raised, acknowledged, cleared, muted, mute expired)."""

    event: AlarmEvent


@dataclass(frozen=True, slots=True)
class DriveSiren:
    """The space's siren off, pulsed (the gateway's own fault) or continuous (evacuate); the module times it."""

    space: str
    pattern: SirenPattern

    @property
    def on(self) -> bool:
        return self.pattern is not SirenPattern.OFF


@dataclass(frozen=True, slots=True)
class DriveBeacon:
    space: str
    on: bool


@dataclass(frozen=True, slots=True)
class StartFan:
    space: str
    reason: str


@dataclass(frozen=True, slots=True)
class Evacuate:
    """Tell the attendant to bring everyone out, and why."""

    space: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Notify:
    """Tell the attendant something that needs no alarm (an input refused, a step still missing)."""

    space: str
    message: str


@dataclass(frozen=True, slots=True)
class PushAttestation:
    space: str
    lock_ids: frozenset[str]
    decision: AttestationDecision


@dataclass(frozen=True, slots=True)
class DeferPadlockPush:
    lock_id: str
    what: str
    reason: str


@dataclass(frozen=True, slots=True)
class SendPadlockPush:
    lock_id: str
    what: str


@dataclass(frozen=True, slots=True)
class SessionChanged:
    """A session step to log and send up."""

    space: str
    phase: str
    permit_id: str | None
    at: int
    reason: str


Action = (
    RecordAlarm
    | DriveSiren
    | DriveBeacon
    | StartFan
    | Evacuate
    | Notify
    | PushAttestation
    | DeferPadlockPush
    | SendPadlockPush
    | SessionChanged
)
