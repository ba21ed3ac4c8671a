"""Latching alarms: raise → (acknowledge) → clear, every step kept as an event with who, when and why.

An alarm stays open until its condition has cleared *and* a person has acknowledged it, in either order. A
level-2 gas alarm cannot be acknowledged while the gas is still out of range: the acknowledgement is refused
(code ``gas_present``), never held for later — once the gas has cleared a person acknowledges, wherever they
are. A mute silences the siren for a while and expires by itself (the expiry is an event too). The open set
can be snapshotted and restored after a restart. Mute expiry uses monotonic seconds; events are stamped
with wall seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from edge.core.clock import Now
from edge.core.errors import CoreError
from protocols.gases import Gas


class AlarmKind(StrEnum):
    """What an alarm is about."""

    GAS_LEVEL1 = "gas_level1"
    GAS_LEVEL2 = "gas_level2"
    STEL = "stel"
    TWA = "twa"
    DETECTOR_FAULT = "detector_fault"
    COMM_LOSS = "comm_loss"
    STALE_DATA = "stale_data"
    OVERTIME_WARNING = "overtime_warning"
    OVERTIME = "overtime"
    UNAUTHORIZED_OPEN = "unauthorized_open"
    ENTRANT_LIMIT_EXCEEDED = "entrant_limit_exceeded"
    TAMPER = "tamper"
    LOW_BATTERY = "low_battery"
    GATEWAY_FAULT = "gateway_fault"  # the gateway itself cannot work as it should (subject: what, e.g. "storage")
    STATE_LOST = "state_lost"  # a file of the gateway's state could not be read and was started afresh


# The gateway's own faults: nothing wrong in the space, someone must check the gateway. Alone they pulse the siren
# (:class:`SirenPattern`); every other kind sounds it continuously, the evacuation pattern.
GATEWAY_KINDS = frozenset({AlarmKind.GATEWAY_FAULT, AlarmKind.STATE_LOST})
# Maintenance, not danger: acknowledged, it does not make a gateway fault sound like an evacuation.
MAINTENANCE_KINDS = frozenset({AlarmKind.LOW_BATTERY})


class SirenPattern(StrEnum):
    """How the siren sounds. The output module's task makes the pattern; the core only says which one.

    ``CONTINUOUS`` — gas or people in danger, get out (every kind but the gateway's own faults). ``PULSED`` — only
    the gateway itself is faulty (``gateway_fault``, ``state_lost``), nothing in the space: short blasts call
    someone to check it. Continuous always wins over pulsed."""

    OFF = "off"
    PULSED = "pulsed"
    CONTINUOUS = "continuous"


# Kinds whose acknowledgement waits until the condition has cleared: the danger must be gone first. A lost state
# clears only when the attendant confirms the space empty (``SpaceConfirmedEmpty``), not by an acknowledgement.
ACK_NEEDS_CLEAR = frozenset({AlarmKind.GAS_LEVEL2, AlarmKind.STATE_LOST})
# Kinds whose subject is a gas (protocols.gases.Gas, by its value).
GAS_SUBJECT_KINDS = frozenset({AlarmKind.GAS_LEVEL1, AlarmKind.GAS_LEVEL2, AlarmKind.STEL, AlarmKind.TWA})

MAX_MUTE_S = 600.0  # a mute longer than this would hide an alarm for too long; engineering choice


class AlarmError(CoreError):
    """An operation on an alarm that is refused; ``str`` says why, ``code`` which rule refused it:
    ``unknown_alarm`` (no open alarm with that id), ``space_not_confirmed`` (a lost state before the attendant
    confirmed the space empty), ``gas_present`` (a level-2 gas alarm while the gas is still
    out of range), ``bad_mute`` (a mute outside 0–MAX_MUTE_S)."""

    default_code = "unknown_alarm"

    def __init__(self, message: str, code: str = "unknown_alarm") -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True, slots=True)
class AlarmKey:
    """Identity of an alarm condition: its kind, its space and its subject (a gas, detector, lock or permit)."""

    kind: AlarmKind
    space: str
    subject: str = ""


class AlarmEventType(StrEnum):
    RAISED = "raised"
    REACTIVATED = "reactivated"  # the condition came back before the alarm was closed
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"  # the condition went away
    MUTED = "muted"
    MUTE_EXPIRED = "mute_expired"


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """One step of an alarm's record. ``closed`` is True on the step after which the alarm is finished."""

    type: AlarmEventType
    alarm_id: int
    key: AlarmKey
    at: int
    by: str
    reason: str
    closed: bool = False


GATEWAY = "gateway"  # the ``by`` of steps the gateway takes itself


@dataclass(frozen=True, slots=True)
class Alarm:
    """An open alarm. ``active`` is whether its condition holds now; ``muted_until`` is monotonic seconds."""

    id: int
    key: AlarmKey
    raised_at: int
    reason: str
    active: bool = True
    acknowledged_by: str | None = None
    acknowledged_at: int | None = None
    muted_until: float | None = None

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_by is not None

    def sounding(self, mono: float) -> bool:
        """Whether this alarm wants the siren: not yet acknowledged and not muted at ``mono``."""
        return not self.acknowledged and (self.muted_until is None or mono >= self.muted_until)


class AlarmSet:
    """The open alarms of a gateway. Every mutating call returns the events it caused, in order."""

    def __init__(self, next_id: int = 1) -> None:
        self._alarms: dict[AlarmKey, Alarm] = {}
        self._next_id = next_id

    def raise_ids_above(self, floor: int) -> None:
        """Number new alarms from ``floor`` on at least (after a lost state: never reuse an id the cloud knows)."""
        self._next_id = max(self._next_id, floor)

    def open_alarms(self) -> list[Alarm]:
        return sorted(self._alarms.values(), key=lambda a: a.id)

    def find(self, key: AlarmKey) -> Alarm | None:
        return self._alarms.get(key)

    def _by_id(self, alarm_id: int) -> Alarm:
        for alarm in self._alarms.values():
            if alarm.id == alarm_id:
                return alarm
        raise AlarmError(f"no open alarm {alarm_id}", "unknown_alarm")

    def set_condition(self, key: AlarmKey, active: bool, reason: str, now: Now) -> list[AlarmEvent]:
        """Tell the set whether ``key``'s condition holds; raises, reactivates, clears or closes as needed."""
        alarm = self._alarms.get(key)
        if active:
            if alarm is None:
                alarm = Alarm(self._next_id, key, now.wall, reason)
                self._next_id += 1
                self._alarms[key] = alarm
                return [AlarmEvent(AlarmEventType.RAISED, alarm.id, key, now.wall, GATEWAY, reason)]
            if alarm.active:
                return []  # the alarm keeps the text it was raised with: the value that raised it, not the latest
            self._alarms[key] = replace(alarm, reason=reason, active=True)
            return [AlarmEvent(AlarmEventType.REACTIVATED, alarm.id, key, now.wall, GATEWAY, reason)]
        if alarm is None or not alarm.active:
            return []
        return [self._clear(alarm, reason, now)]

    def _clear(self, alarm: Alarm, reason: str, now: Now) -> AlarmEvent:
        if alarm.acknowledged:
            del self._alarms[alarm.key]
        else:
            self._alarms[alarm.key] = replace(alarm, active=False)
        return AlarmEvent(AlarmEventType.CLEARED, alarm.id, alarm.key, now.wall, GATEWAY, reason, alarm.acknowledged)

    def reconcile(
        self, conditions: Mapping[AlarmKey, str], owns: Callable[[AlarmKey], bool], now: Now
    ) -> list[AlarmEvent]:
        """Make the conditions a source owns exactly ``conditions`` (key → reason): raise those, clear the rest.

        ``owns`` says which keys the source is responsible for (e.g. gas kinds of one space), so clearing what it no
        longer reports never touches another source's alarms.
        """
        events = [e for key, reason in conditions.items() for e in self.set_condition(key, True, reason, now)]
        for alarm in self.open_alarms():
            if owns(alarm.key) and alarm.key not in conditions and alarm.active:
                events.append(self._clear(alarm, "condition no longer present", now))
        return events

    def acknowledge(self, alarm_id: int, by: str, now: Now) -> list[AlarmEvent]:
        """Acknowledge alarm ``alarm_id`` for ``by``; raises :class:`AlarmError` if refused."""
        alarm = self._by_id(alarm_id)
        if alarm.acknowledged:
            return []
        if alarm.key.kind is AlarmKind.STATE_LOST and alarm.active:
            raise AlarmError(f"空间未确认无人，不能确认 / space not confirmed empty: alarm {alarm_id} (state_lost) "
                             "can be acknowledged once the attendant has confirmed the space empty (console op "
                             "confirm_empty)", "space_not_confirmed")
        if alarm.key.kind in ACK_NEEDS_CLEAR and alarm.active:
            raise AlarmError(f"气体仍超标，不能确认 / gas still present: alarm {alarm_id} ({alarm.key.kind}) can be "
                             f"acknowledged once the gas is back in range ({alarm.reason})", "gas_present")
        closed = not alarm.active
        if closed:
            del self._alarms[alarm.key]
        else:
            self._alarms[alarm.key] = replace(alarm, acknowledged_by=by, acknowledged_at=now.wall, muted_until=None)
        # Said as what it is — the text the alarm was raised with — so an acknowledgement after the gas is back
        # does not read as a reading of now.
        state = "condition cleared" if closed else "condition still present"
        reason = f"{state}; raised for: {alarm.reason}"
        return [AlarmEvent(AlarmEventType.ACKNOWLEDGED, alarm.id, alarm.key, now.wall, by, reason, closed)]

    def mute(self, alarm_id: int, by: str, now: Now, seconds: float) -> list[AlarmEvent]:
        """Silence alarm ``alarm_id``'s siren for ``seconds`` (at most :data:`MAX_MUTE_S`); it expires by itself."""
        if not 0 < seconds <= MAX_MUTE_S:
            raise AlarmError(f"a mute lasts 0–{MAX_MUTE_S:g} s", "bad_mute")
        alarm = self._by_id(alarm_id)
        if alarm.acknowledged:
            return []
        self._alarms[alarm.key] = replace(alarm, muted_until=now.mono + seconds)
        return [AlarmEvent(AlarmEventType.MUTED, alarm.id, alarm.key, now.wall, by, f"muted for {seconds:g} s")]

    def expire_mutes(self, now: Now) -> list[AlarmEvent]:
        """Record every mute that has run out by ``now``; call it on every tick."""
        events = []
        for alarm in self.open_alarms():
            if alarm.muted_until is not None and now.mono >= alarm.muted_until:
                self._alarms[alarm.key] = replace(alarm, muted_until=None)
                events.append(
                    AlarmEvent(AlarmEventType.MUTE_EXPIRED, alarm.id, alarm.key, now.wall, GATEWAY, "mute ran out")
                )
        return events

    def siren_wanted(self, space: str, mono: float) -> bool:
        """Sound the space's siren while one of its alarms is unacknowledged and not muted."""
        return any(a.key.space == space and a.sounding(mono) for a in self._alarms.values())

    def siren_pattern(self, space: str, mono: float) -> SirenPattern:
        """The space's siren: off unless :meth:`siren_wanted`; pulsed when only the gateway's own faults sound it
        and no gas or people alarm of the space is still active (acknowledged or not: a new sound in a space with
        gas present must never read as "only the gateway"); continuous otherwise."""
        mine = [a for a in self._alarms.values() if a.key.space == space]
        if not any(a.sounding(mono) for a in mine):
            return SirenPattern.OFF
        danger = any(a.key.kind not in GATEWAY_KINDS
                     and (a.sounding(mono) or (a.active and a.key.kind not in MAINTENANCE_KINDS)) for a in mine)
        return SirenPattern.CONTINUOUS if danger else SirenPattern.PULSED

    def beacon_wanted(self, space: str) -> bool:
        """Show the space's beacon while any of its alarms is open."""
        return any(a.key.space == space for a in self._alarms.values())

    def snapshot(self) -> dict[str, Any]:
        """Plain JSON-able data to persist; mutes are not kept (a restart brings the siren back)."""
        return {
            "next_id": self._next_id,
            "alarms": [
                {
                    "id": a.id,
                    "kind": a.key.kind.value,
                    "space": a.key.space,
                    "subject": a.key.subject,
                    "raised_at": a.raised_at,
                    "reason": a.reason,
                    "active": a.active,
                    "acknowledged_by": a.acknowledged_by,
                    "acknowledged_at": a.acknowledged_at,
                    "muted": a.muted_until is not None,
                }
                for a in self.open_alarms()
            ],
        }

    @classmethod
    def restore(cls, data: Mapping[str, Any], now: Now) -> tuple[AlarmSet, list[AlarmEvent]]:
        """Rebuild the set from :meth:`snapshot`; a mute that was running is recorded as expired by the restart."""
        alarms = cls(int(data["next_id"]))
        events = []
        for item in data["alarms"]:
            kind = AlarmKind(item["kind"])
            key = AlarmKey(kind, item["space"], _subject(kind, item["subject"]))
            alarms._alarms[key] = Alarm(
                id=int(item["id"]),
                key=key,
                raised_at=int(item["raised_at"]),
                reason=item["reason"],
                active=bool(item["active"]),
                acknowledged_by=item["acknowledged_by"],
                acknowledged_at=item["acknowledged_at"],
            )
            if item["muted"]:
                events.append(
                    AlarmEvent(
                        AlarmEventType.MUTE_EXPIRED, int(item["id"]), key, now.wall, GATEWAY, "gateway restarted"
                    )
                )
        return alarms, events


def _subject(kind: AlarmKind, subject: str) -> str:
    """A saved alarm's subject in today's spelling: a state written before the one gas vocabulary names a gas
    ``h2s`` or ``flammable``; read as ``H2S``/``LEL`` so the alarm still matches its condition and, if active,
    still holds the gas's level through the restart."""
    if kind in GAS_SUBJECT_KINDS:
        try:
            return Gas(subject).value
        except ValueError:
            pass
    return subject
