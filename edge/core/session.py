"""The confined-space session of one space: a state machine driven by lock events, permits, gas, people and time.

idle → authorized → (ventilating) → tested → in_work → overtime → closed, plus unauthorized_open. The session
opens when the hatch's padlock opens; from then on it always has a running deadline (persisted in wall seconds,
measured on the monotonic clock within a boot). It closes only when the padlock is closed and nobody is inside.
While it is open, nothing that changes what its padlocks trust is sent: such pushes are deferred until it closes.
Alarms evacuate; nothing here ever locks.

After the gateway lost its state (:class:`~edge.core.session_io.StateLost` with ``unknown_past``) the space is
*possibly occupied*: a latched ``state_lost`` alarm holds until the attendant confirms the space empty, and until
then the space is guarded as if a session were open — detector faults and stale data alarm, alarms evacuate,
every padlock push is deferred — whatever the session itself says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from edge.core.alarms import AlarmEvent, AlarmEventType, AlarmKey, AlarmKind, AlarmSet, SirenPattern
from edge.core.attestation import AttestationPolicy, decide_attestation
from edge.core.clock import Now
from edge.core.gas import GasState, Level
from edge.core.gas_alarms import gas_alarm_conditions, owns_gas_alarms
from edge.core.session_io import (
    Action,
    DeferPadlockPush,
    DriveBeacon,
    DriveSiren,
    EntrantIn,
    EntrantOut,
    EntryConfirmed,
    Evacuate,
    GasUpdate,
    LockAlert,
    LockClosed,
    LockOpened,
    Notify,
    OpenMethod,
    PadlockPushRequested,
    Permit,
    PermitPushed,
    PermitRevoked,
    PushAttestation,
    RecordAlarm,
    SendPadlockPush,
    SessionChanged,
    SessionInput,
    SpaceConfirmedEmpty,
    StartFan,
    StateLost,
    Tick,
)


class Phase(StrEnum):
    IDLE = "idle"
    AUTHORIZED = "authorized"
    VENTILATING = "ventilating"
    TESTED = "tested"
    IN_WORK = "in_work"
    OVERTIME = "overtime"
    CLOSED = "closed"
    UNAUTHORIZED_OPEN = "unauthorized_open"


# Raising one of these while the session is open tells the attendant to bring everyone out.
EVACUATING_KINDS = frozenset(
    {
        AlarmKind.GAS_LEVEL1,
        AlarmKind.GAS_LEVEL2,
        AlarmKind.STEL,
        AlarmKind.TWA,
        AlarmKind.DETECTOR_FAULT,
        AlarmKind.COMM_LOSS,
        AlarmKind.STALE_DATA,
        AlarmKind.OVERTIME,
        AlarmKind.UNAUTHORIZED_OPEN,
        AlarmKind.ENTRANT_LIMIT_EXCEEDED,
    }
)
# Conditions that belong to the session and end with it (they stay latched until acknowledged).
SESSION_KINDS = frozenset(
    {
        AlarmKind.OVERTIME_WARNING,
        AlarmKind.OVERTIME,
        AlarmKind.UNAUTHORIZED_OPEN,
        AlarmKind.ENTRANT_LIMIT_EXCEEDED,
    }
)


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    overtime_warning_s: int = 600  # warn this long before the deadline
    unauthorized_deadline_s: int = 1800  # an open without a permit still gets a deadline
    attestation: AttestationPolicy = field(default_factory=AttestationPolicy)


def out_of_range_reasons(state: GasState) -> list[str]:
    """Why the space's gases are not fit for work (empty if they are). No reading yet (pending) is not a breach."""
    out: list[str] = []
    for r in state.gases.values():
        if r.level not in (Level.NORMAL, Level.PENDING) or r.stel_exceeded or r.twa_exceeded:
            out += list(r.reasons) or [f"{r.gas.name} {r.level}"]
    return out


class SpaceSession:
    """The session of one space. :meth:`handle` takes one input and returns the actions to carry out."""

    def __init__(self, space: str, alarms: AlarmSet, policy: SessionPolicy | None = None) -> None:
        self.space = space
        self.alarms = alarms
        self.policy = policy or SessionPolicy()
        self.phase = Phase.IDLE
        self.permit: Permit | None = None
        self.revoked = False
        self.entrants: set[str] = set()
        self.locks: set[str] = set()  # padlocks of this session (the permit's, plus any that opened)
        self.open_locks: set[str] = set()
        self.opened_at: int | None = None
        self.deadline: int | None = None  # wall seconds
        self.suspended = False
        self.attested_until: int | None = None
        self.deferred: list[tuple[str, str]] = []
        self.gas: GasState | None = None
        self.unknown_past = False  # the gateway lost what it knew of this space: possibly occupied
        self._deadline_mono: float | None = None
        self._siren: SirenPattern | None = None
        self._beacon: bool | None = None
        self._fan_started = False

    @property
    def is_open(self) -> bool:
        """The hatch has opened and the session has not closed."""
        return self.opened_at is not None

    @property
    def guarded(self) -> bool:
        """Someone may be inside: a session is open, or the state was lost and nobody has confirmed it empty."""
        return self.is_open or self.unknown_past

    def handle(self, event: SessionInput, now: Now) -> list[Action]:
        out: list[Action] = []
        handler = getattr(self, f"_on_{type(event).__name__}")
        handler(event, now, out)
        self._timers(now, out)
        self._outputs(now, out)
        return out

    # --- helpers ----------------------------------------------------------------------------------------------

    def _enter(self, phase: Phase, reason: str, now: Now, out: list[Action]) -> None:
        self.phase = phase
        pid = self.permit.permit_id if self.permit else None
        out.append(SessionChanged(self.space, phase.value, pid, now.wall, reason))

    def _record(self, events: list[AlarmEvent], out: list[Action]) -> None:
        reasons = []
        for e in events:
            out.append(RecordAlarm(e))
            raised = e.type in (AlarmEventType.RAISED, AlarmEventType.REACTIVATED)
            if raised and e.key.kind in EVACUATING_KINDS and self.guarded:
                reasons.append(e.reason)
        if reasons:
            out.append(Evacuate(self.space, tuple(reasons)))

    def _condition(self, kind: AlarmKind, subject: str, active: bool, reason: str, now: Now, out: list[Action]) -> None:
        self._record(self.alarms.set_condition(AlarmKey(kind, self.space, subject), active, reason, now), out)

    def _set_deadline(self, wall: int, now: Now) -> None:
        self.deadline = wall
        self._deadline_mono = now.mono + (wall - now.wall)

    def _entry_barred(self) -> str | None:
        if self.phase in (Phase.VENTILATING, Phase.TESTED):
            return "entry is barred until the gases are tested and the attendant confirms entry"
        if self.suspended:
            return "the permit is suspended: gases out of range"
        if self.revoked:
            return "the permit was revoked"
        if self.phase == Phase.OVERTIME:
            return "the permit's time is up"
        if self.phase == Phase.UNAUTHORIZED_OPEN:
            return "the hatch was opened without a valid permit"
        return None

    def _entrant_limit(self) -> int:
        return self.permit.entrant_limit if self.permit and self.phase != Phase.UNAUTHORIZED_OPEN else 0

    def _check_entrants(self, now: Now, out: list[Action]) -> None:
        limit = self._entrant_limit()
        over = len(self.entrants) > limit
        reason = f"{len(self.entrants)} inside, the permit allows {limit}"
        self._condition(AlarmKind.ENTRANT_LIMIT_EXCEEDED, "", over and self.is_open, reason, now, out)

    def _maybe_close(self, now: Now, out: list[Action]) -> None:
        if self.is_open and not self.open_locks and not self.entrants:
            self._close("padlock closed with nobody inside", now, out)

    def _close(self, reason: str, now: Now, out: list[Action]) -> None:
        self.opened_at = self.deadline = self._deadline_mono = None
        for alarm in self.alarms.open_alarms():
            if alarm.key.space == self.space and alarm.key.kind in SESSION_KINDS and alarm.active:
                self._condition(alarm.key.kind, alarm.key.subject, False, f"session closed: {reason}", now, out)
        if self.gas is not None:
            conditions = gas_alarm_conditions(self.gas, in_session=self.guarded)
            self._record(self.alarms.reconcile(conditions, owns_gas_alarms(self.space), now), out)
        self._enter(Phase.CLOSED, reason, now, out)
        if not self.unknown_past:  # else the pushes wait for the attendant's confirmation that nobody is inside
            self._release_deferred(out)
        self.permit, self.revoked, self.suspended, self.attested_until = None, False, False, None
        self.locks.clear()

    def _release_deferred(self, out: list[Action]) -> None:
        out += [SendPadlockPush(lock, what) for lock, what in self.deferred]
        self.deferred.clear()

    # --- inputs -----------------------------------------------------------------------------------------------

    def _on_PermitPushed(self, event: PermitPushed, now: Now, out: list[Action]) -> None:
        p = event.permit
        if p.space != self.space:
            out.append(Notify(self.space, f"permit {p.permit_id} is for space {p.space}"))
        elif self.is_open:
            out.append(Notify(self.space, f"permit {p.permit_id} ignored: a session is open"))
        elif now.wall >= p.expires:
            out.append(Notify(self.space, f"permit {p.permit_id} has already expired"))
        else:
            self.permit, self.revoked, self.attested_until = p, False, None
            self.locks = set(p.lock_ids)
            self._enter(Phase.AUTHORIZED, f"permit {p.permit_id} received", now, out)

    def _on_PermitRevoked(self, event: PermitRevoked, now: Now, out: list[Action]) -> None:
        if self.permit is None or self.permit.permit_id != event.permit_id:
            return
        why = f"permit {event.permit_id} revoked" + (f": {event.reason}" if event.reason else "")
        if self.is_open:
            self.revoked = True
            self._enter(self.phase, why, now, out)
            out.append(Evacuate(self.space, (why,)))
        else:
            self._enter(Phase.CLOSED, why, now, out)
            self.permit = None
            self.locks.clear()

    def _on_LockOpened(self, event: LockOpened, now: Now, out: list[Action]) -> None:
        p = self.permit
        by_permit = (
            event.method == OpenMethod.TOKEN
            and p is not None
            and event.permit_id == p.permit_id
            and event.lock_id in p.lock_ids
            and p.valid_at(now.wall)
            and not self.revoked
        )
        self.open_locks.add(event.lock_id)
        self.locks.add(event.lock_id)
        if by_permit and p is not None and not self.is_open and self.phase in (Phase.AUTHORIZED, Phase.TESTED):
            self.opened_at = now.wall
            self._set_deadline(min(p.expires, now.wall + p.max_duration_s), now)
            phase = Phase.VENTILATING if p.ventilation else Phase.IN_WORK
            self._enter(phase, f"padlock {event.lock_id} opened with permit {p.permit_id}", now, out)
        elif not (by_permit and self.is_open):
            reason = (
                f"padlock {event.lock_id} opened by {event.method.value} (permit {event.permit_id or 'none'}) "
                "without a valid permit for this space"
            )
            if not self.is_open:
                self.opened_at = now.wall
                self._set_deadline(now.wall + self.policy.unauthorized_deadline_s, now)
                self._enter(Phase.UNAUTHORIZED_OPEN, reason, now, out)
            self._condition(AlarmKind.UNAUTHORIZED_OPEN, event.lock_id, True, reason, now, out)

    def _on_LockClosed(self, event: LockClosed, now: Now, out: list[Action]) -> None:
        self.open_locks.discard(event.lock_id)
        if self.is_open and not self.open_locks and self.entrants:
            out.append(Notify(self.space, f"padlock closed with {len(self.entrants)} still inside: open the hatch"))
        self._maybe_close(now, out)

    def _on_LockAlert(self, event: LockAlert, now: Now, out: list[Action]) -> None:
        kind = AlarmKind.TAMPER if event.tamper else AlarmKind.LOW_BATTERY
        reason = f"padlock {event.lock_id} reports {kind.value.replace('_', ' ')}"
        self._condition(kind, event.lock_id, event.active, reason, now, out)

    def _on_EntrantIn(self, event: EntrantIn, now: Now, out: list[Action]) -> None:
        if not self.is_open:
            out.append(Notify(self.space, f"{event.person} checked in but the hatch is not open: not recorded"))
            return
        # Counted whatever the phase: someone reported inside must be accounted for before the session can close.
        self.entrants.add(event.person)
        barred = self._entry_barred()
        if barred:
            out.append(Evacuate(self.space, (f"{event.person} entered but {barred}",)))
        self._check_entrants(now, out)

    def _on_EntrantOut(self, event: EntrantOut, now: Now, out: list[Action]) -> None:
        if event.person not in self.entrants:
            out.append(Notify(self.space, f"{event.person} checked out but was not checked in"))
            return
        self.entrants.discard(event.person)
        self._check_entrants(now, out)
        self._maybe_close(now, out)

    def _gases_ready(self) -> tuple[bool, str]:
        if self.gas is None:
            return False, "no gas state yet"
        need = self.policy.attestation.in_range_for_s
        return self.gas.in_range_for(need), f"gases must be in range for {need:g} s first"

    def _on_EntryConfirmed(self, event: EntryConfirmed, now: Now, out: list[Action]) -> None:
        ready, why = self._gases_ready()
        if self.revoked or self.phase not in (Phase.TESTED, Phase.IN_WORK, Phase.OVERTIME) or not self.is_open:
            out.append(Notify(self.space, f"entry not confirmed: {self._entry_barred() or 'no open session'}"))
        elif not ready:
            out.append(Notify(self.space, f"entry not confirmed: {why}"))
        elif self.phase == Phase.TESTED:
            self._enter(Phase.IN_WORK, f"entry confirmed by {event.by}", now, out)
        elif self.suspended:
            self.suspended = False
            self._enter(self.phase, f"work resumed, confirmed by {event.by}", now, out)

    def _on_GasUpdate(self, event: GasUpdate, now: Now, out: list[Action]) -> None:
        state = self.gas = event.state
        conditions = gas_alarm_conditions(state, in_session=self.guarded)
        self._record(self.alarms.reconcile(conditions, owns_gas_alarms(self.space), now), out)
        hazard = state.rising or any(r.gas_level != Level.NORMAL for r in state.gases.values())
        if hazard and not self._fan_started:
            out.append(StartFan(self.space, "; ".join(state.reasons) or "gas rising"))
        self._fan_started = hazard
        bad = out_of_range_reasons(state)
        if self.is_open and bad and not self.suspended and self.phase in (Phase.IN_WORK, Phase.OVERTIME):
            self.suspended = True
            self._enter(self.phase, "permit suspended: " + "; ".join(bad), now, out)
            out.append(Evacuate(self.space, tuple(bad)))
        if self.phase in (Phase.AUTHORIZED, Phase.TESTED, Phase.VENTILATING) and self.permit is not None:
            self._attest(event, now, out)

    def _attest(self, event: GasUpdate, now: Now, out: list[Action]) -> None:
        decision = decide_attestation(event.state, event.detectors, self.policy.attestation, now)
        if not self.is_open:
            if decision.granted and self.permit is not None:
                half = self.policy.attestation.validity_s // 2
                if self.attested_until is None or self.attested_until - now.wall <= half:
                    self.attested_until = decision.valid_until
                    out.append(PushAttestation(self.space, frozenset(self.permit.lock_ids), decision))
                if self.phase == Phase.AUTHORIZED:
                    self._enter(Phase.TESTED, decision.reasons[0], now, out)
            elif not decision.granted and self.phase == Phase.TESTED:
                self._enter(Phase.AUTHORIZED, "gas test no longer holds: " + "; ".join(decision.reasons), now, out)
        elif decision.granted and self.phase == Phase.VENTILATING:
            self._enter(Phase.TESTED, decision.reasons[0] + "; waiting for the attendant to confirm entry", now, out)

    def _on_PadlockPushRequested(self, event: PadlockPushRequested, now: Now, out: list[Action]) -> None:
        if self.is_open and event.lock_id in self.locks:
            self.deferred.append((event.lock_id, event.what))
            reason = f"session open with {len(self.entrants)} inside: sent when it closes"
            out.append(DeferPadlockPush(event.lock_id, event.what, reason))
        elif self.unknown_past:  # which padlocks a lost session used is unknown: hold back every push of the space
            self.deferred.append((event.lock_id, event.what))
            out.append(DeferPadlockPush(event.lock_id, event.what,
                                        "state lost: sent once the attendant confirms the space empty"))
        else:
            out.append(SendPadlockPush(event.lock_id, event.what))

    def _on_Tick(self, event: Tick, now: Now, out: list[Action]) -> None:
        """Nothing but the clock: the timers run after every input."""

    def _on_StateLost(self, event: StateLost, now: Now, out: list[Action]) -> None:
        reason = f"{event.file} unreadable, started afresh: {event.reason}"
        if not event.unknown_past:  # the loss itself is the event: raised and cleared, closed by an acknowledgement
            self._condition(AlarmKind.STATE_LOST, event.file, True, reason, now, out)
            self._condition(AlarmKind.STATE_LOST, event.file, False, f"{event.file} started afresh", now, out)
            return
        self.unknown_past = True
        self._condition(AlarmKind.STATE_LOST, event.file, True, reason + "; possibly occupied", now, out)
        out.append(Notify(self.space, "状态丢失，请确认有限空间内无人后确认 / state lost: check nobody is inside, "
                                      "then confirm the space empty"))
        if self.gas is not None:  # the faults of a guarded space alarm from now on
            conditions = gas_alarm_conditions(self.gas, in_session=True)
            self._record(self.alarms.reconcile(conditions, owns_gas_alarms(self.space), now), out)

    def _on_SpaceConfirmedEmpty(self, event: SpaceConfirmedEmpty, now: Now, out: list[Action]) -> None:
        if not self.unknown_past:
            out.append(Notify(self.space, "nothing to confirm: the space's state is known"))
            return
        if self.entrants:
            out.append(Notify(self.space, f"not confirmed empty: {len(self.entrants)} checked in"))
            return
        self.unknown_past = False
        for alarm in self.alarms.open_alarms():
            if alarm.key.space == self.space and alarm.key.kind == AlarmKind.STATE_LOST and alarm.active:
                self._condition(alarm.key.kind, alarm.key.subject, False, f"space confirmed empty by {event.by}",
                                now, out)
        if self.gas is not None:
            conditions = gas_alarm_conditions(self.gas, in_session=self.is_open)
            self._record(self.alarms.reconcile(conditions, owns_gas_alarms(self.space), now), out)
        if not self.is_open:
            self._release_deferred(out)

    # --- clock and outputs ------------------------------------------------------------------------------------

    def _timers(self, now: Now, out: list[Action]) -> None:
        self._record(self.alarms.expire_mutes(now), out)
        if self.is_open and self._deadline_mono is not None:
            left = self._deadline_mono - now.mono
            if left <= self.policy.overtime_warning_s:
                why = f"deadline {self.deadline} in {max(left, 0):.0f} s"
                self._condition(AlarmKind.OVERTIME_WARNING, "", True, why, now, out)
            if left <= 0 and self.phase not in (Phase.OVERTIME, Phase.UNAUTHORIZED_OPEN):
                self._enter(Phase.OVERTIME, f"deadline {self.deadline} passed", now, out)
            if left <= 0:
                self._condition(AlarmKind.OVERTIME, "", True, f"deadline {self.deadline} passed", now, out)
        elif self.phase in (Phase.AUTHORIZED, Phase.TESTED) and self.permit and now.wall >= self.permit.expires:
            self._enter(Phase.CLOSED, f"permit {self.permit.permit_id} expired before the hatch opened", now, out)
            self.permit = None
            self.locks.clear()

    def _outputs(self, now: Now, out: list[Action]) -> None:
        siren, beacon = self.alarms.siren_pattern(self.space, now.mono), self.alarms.beacon_wanted(self.space)
        if siren != self._siren:
            out.append(DriveSiren(self.space, siren))
        if beacon != self._beacon:
            out.append(DriveBeacon(self.space, beacon))
        self._siren, self._beacon = siren, beacon

    # --- persistence ------------------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Plain JSON-able data to persist after every change (with the alarm set's own snapshot)."""
        return {
            "space": self.space,
            "phase": self.phase.value,
            "permit": self.permit.to_dict() if self.permit else None,
            "revoked": self.revoked,
            "entrants": sorted(self.entrants),
            "locks": sorted(self.locks),
            "open_locks": sorted(self.open_locks),
            "opened_at": self.opened_at,
            "deadline": self.deadline,
            "suspended": self.suspended,
            "attested_until": self.attested_until,
            "deferred": [list(d) for d in self.deferred],
            "unknown_past": self.unknown_past,
        }

    @classmethod
    def restore(
        cls, data: Mapping[str, Any], alarms: AlarmSet, now: Now, policy: SessionPolicy | None = None
    ) -> tuple[SpaceSession, list[Action]]:
        """Resume a session after a restart; a deadline missed while down fires at once (in the returned actions)."""
        s = cls(data["space"], alarms, policy)
        s.phase = Phase(data["phase"])
        s.permit = Permit.from_dict(data["permit"]) if data["permit"] else None
        s.revoked, s.suspended = bool(data["revoked"]), bool(data["suspended"])
        s.entrants, s.locks, s.open_locks = set(data["entrants"]), set(data["locks"]), set(data["open_locks"])
        s.opened_at, s.attested_until = data["opened_at"], data["attested_until"]
        s.deferred = [(lock, what) for lock, what in data["deferred"]]
        s.unknown_past = bool(data.get("unknown_past", False))
        if data["deadline"] is not None:
            s._set_deadline(int(data["deadline"]), now)
        out: list[Action] = []
        s._timers(now, out)
        s._outputs(now, out)
        return s, out
