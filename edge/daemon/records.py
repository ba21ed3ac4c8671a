"""What the daemon writes down: record bodies (protocols/uplink.md) built from polls, core actions and lock events.

Pure functions, no I/O: each returns ``(kind, body)``; the journal validates and stores them. Gas names are the
one vocabulary of :class:`protocols.gases.Gas` (``O2``, ``LEL``, ``H2S``, ``CO``), which the profiles and the core
use too; units are the uplink's (``%VOL``, ``%LEL``, ``ppm``, ``mg/m3``).
"""

from __future__ import annotations

from typing import Any

from edge.core.alarms import GAS_SUBJECT_KINDS, AlarmEvent, AlarmEventType, AlarmKind
from edge.core.gas import GasState
from edge.core.gas_alarms import GAS_ALARM_KINDS
from edge.core.limits import Gas
from edge.core.session_io import (
    DeferPadlockPush,
    Evacuate,
    Notify,
    PushAttestation,
    SendPadlockPush,
    SessionChanged,
    StartFan,
)
from protocols.gases import wire_name
from protocols.gasprofile import DetectorSnapshot
from protocols.padlock.audit import AuditEntry
from protocols.uplink.fields import b64url_encode

Record = tuple[str, dict[str, Any]]

MAX_TEXT = 200
# Alarms that call for the urgent (level 2) response; the rest are warnings (level 1): sound and light first.
LEVEL1_KINDS = frozenset({AlarmKind.GAS_LEVEL1, AlarmKind.OVERTIME_WARNING, AlarmKind.LOW_BATTERY})
LOCK_KINDS = frozenset({AlarmKind.UNAUTHORIZED_OPEN, AlarmKind.TAMPER, AlarmKind.LOW_BATTERY})
_STATE = {AlarmEventType.REACTIVATED: "raised"}


def text(value: str) -> str:
    """A free text cut to what a record field holds."""
    return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "…"


def telemetry(space: str, detector: str, snapshot: DetectorSnapshot) -> Record:
    """One successful poll of one detector (a failed one leaves an event on its health transitions instead)."""
    readings = []
    for r in snapshot.readings:
        flags: list[str] = []
        if r.status != "ok":
            flags.append(r.status.value)
        if r.alarm1:
            flags.append("alarm1")
        if r.alarm2:
            flags.append("alarm2")
        if r.calibration_due:
            flags.append("calibration_due")
        readings.append({"gas": r.gas,  # the profile names it as the uplink does
                          "value": r.value, "unit": r.unit, "flags": flags})
    status = snapshot.status
    flags = [f for f, on in (("fault", status.fault), ("warmup", status.warmup),
                             ("calibration_due", status.calibration_due)) if on]
    return "telemetry", {"space_id": space, "detector_id": detector, "gases": readings[:16], "flags": flags}


def alarm(event: AlarmEvent, *, session_id: str | None, permit_id: str | None, gas: GasState | None) -> Record:
    """One step of an alarm: raised (or reactivated), acknowledged, cleared, muted, mute expired."""
    key = event.key
    body: dict[str, Any] = {
        "alarm_id": str(event.alarm_id),
        "state": _STATE.get(event.type, event.type.value),
        "cause": key.kind.value,
        "level": 1 if key.kind in LEVEL1_KINDS else 2,
        "space_id": key.space,
        "detail": text(("reactivated: " if event.type == AlarmEventType.REACTIVATED else "") + event.reason),
    }
    if event.by != "gateway":
        body["by"] = text(event.by)
    if session_id:
        body["session_id"] = session_id
    if permit_id:
        body["permit_id"] = permit_id
    if key.kind in GAS_SUBJECT_KINDS and key.subject:
        body["gas"] = wire_name(key.subject)
        report = gas.gases.get(Gas(key.subject)) if gas is not None else None
        if report is not None and report.value is not None:
            body["value"], body["unit"] = round(report.value, 4), report.unit.value
    elif key.kind in GAS_ALARM_KINDS and key.subject:
        body["detector_id"] = key.subject
    elif key.kind in LOCK_KINDS and key.subject:
        body["lock_id"] = key.subject
    return "alarm", body


def session(change: SessionChanged, *, session_id: str, previous: str | None, entrants: int,
            deadline: int | None) -> Record:
    body: dict[str, Any] = {"session_id": session_id, "space_id": change.space, "state": change.phase,
                            "entrants": entrants, "reason": text(change.reason)}
    if previous is not None and previous != change.phase:
        body["previous"] = previous
    if change.permit_id:
        body["permit_id"] = change.permit_id
    if deadline is not None:
        body["deadline_ms"] = deadline * 1000
    return "session", body


def session_entrants(space: str, *, session_id: str, phase: str, permit_id: str | None, entrants: int,
                     deadline: int | None) -> Record:
    """The session restated, its state unchanged, because the number inside changed: the session record is where
    the count lives (the cloud's live view shows the latest by seq), so each change gets one."""
    return session(SessionChanged(space, phase, permit_id, 0, f"{entrants} inside"), session_id=session_id,
                   previous=phase, entrants=entrants, deadline=deadline)


def event(type_: str, *, space: str | None = None, lock: str | None = None, detector: str | None = None,
          session_id: str | None = None, permit_id: str | None = None, **data: Any) -> Record:
    body: dict[str, Any] = {"type": type_}
    for field, value in (("space_id", space), ("lock_id", lock), ("detector_id", detector),
                         ("session_id", session_id), ("permit_id", permit_id)):
        if value:
            body[field] = value
    if data:
        body["data"] = data
    return "event", body


def for_action(action: object, *, session_id: str | None) -> Record | None:
    """The event record of a core action that is not an alarm or a session step (None: it leaves none)."""
    if isinstance(action, Evacuate):
        return event("evacuate", space=action.space, session_id=session_id,
                     reasons=[text(r) for r in action.reasons[:10]])
    if isinstance(action, Notify):
        return event("attendant_notice", space=action.space, session_id=session_id, message=text(action.message))
    if isinstance(action, StartFan):
        return event("fan_started", space=action.space, session_id=session_id, reason=text(action.reason))
    if isinstance(action, PushAttestation):
        d = action.decision
        return event("attestation_issued", space=action.space, session_id=session_id,
                     locks=sorted(action.lock_ids), issued_at=d.issued_at, valid_until=d.valid_until,
                     values={g.value: round(v, 4) for g, v in (d.values or {}).items()})
    if isinstance(action, DeferPadlockPush):
        return event("padlock_push_deferred", lock=action.lock_id, what=action.what, reason=text(action.reason))
    if isinstance(action, SendPadlockPush):
        return event("padlock_push_released", lock=action.lock_id, what=action.what)
    return None


def lock_audit(lock_id: str, entry: AuditEntry) -> Record:
    """A padlock audit entry exactly as the lock signed it, verified (signature and chain) before this is made."""
    ev = entry.event
    body: dict[str, Any] = {"lock_id": lock_id, "lock_seq": ev.seq, "event": ev.kind.name.lower(),
                            "lock_time_s": ev.at, "entry": b64url_encode(entry.signed), "chain_ok": True}
    if ev.permit is not None:
        body["token_id"] = ev.permit.token_id.hex()
    return "lock_audit", body


def gas_summary(state: GasState) -> dict[str, Any]:
    """A compact summary of a space's gases for the tamper-evident log."""
    return {"space_id": state.space,
            "gases": {g.value: {"level": r.level.value, "value": r.value, "unit": r.unit.value}
                      for g, r in state.gases.items()}}
