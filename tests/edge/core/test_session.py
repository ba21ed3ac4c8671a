"""The session state machine: the scripted confined-space flow, and safety properties over random event sequences."""

from __future__ import annotations

import json

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from edge.core.alarms import AlarmError, AlarmKey, AlarmKind, AlarmSet, SirenPattern
from edge.core.attestation import AttestationPolicy, DetectorHealth
from edge.core.clock import Now
from edge.core.gas import GasMonitor, GasMonitorConfig, Reading, ReadingStatus
from edge.core.limits import Gas, Unit, space_limits
from edge.core.session import Phase, SessionPolicy, SpaceSession
from edge.core.session_io import (
    DeferPadlockPush,
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
    StartFan,
    Tick,
)

WALL0 = 1_760_000_000
GASES = frozenset({Gas.O2, Gas.H2S})
DETECTORS = (DetectorHealth("det-1", GASES, WALL0 + 10**6, WALL0 + 10**6),)
POLICY = SessionPolicy(overtime_warning_s=600, unauthorized_deadline_s=1800, attestation=AttestationPolicy(300))


def permit(**kw) -> Permit:
    base = {"permit_id": "P1", "space": "S1", "lock_ids": frozenset({"L1"}), "not_before": WALL0,
            "expires": WALL0 + 8 * 3600, "max_duration_s": 3600, "entrant_limit": 2}  # fmt: skip
    return Permit(**{**base, **kw})


class Rig:
    """A space with a real gas monitor, alarm set and session, driven on one clock."""

    def __init__(self) -> None:
        self.now = Now(0.0, WALL0)
        self.alarms = AlarmSet()
        self.session = SpaceSession("S1", self.alarms, POLICY)
        self.monitor = GasMonitor("S1", space_limits(GASES), 0.0, GasMonitorConfig())
        self.log: list = []

    def do(self, event) -> list:
        actions = self.session.handle(event, self.now)
        self.log += actions
        return actions

    def wait(self, seconds: float, h2s: float = 0.0, status: ReadingStatus = ReadingStatus.OK) -> list:
        out = []
        for _ in range(int(seconds)):
            self.now = self.now.later(1)
            self.monitor.observe(Reading(Gas.O2, 20.9, Unit.PCT_VOL, self.now.mono, status, "det-1"))
            self.monitor.observe(Reading(Gas.H2S, h2s, Unit.MG_M3, self.now.mono, status, "det-1"))
            out += self.do(GasUpdate(self.monitor.evaluate(self.now.mono), DETECTORS))
        return out

    def open_alarm(self, kind: AlarmKind, subject: str = ""):
        return self.alarms.find(AlarmKey(kind, "S1", subject))


def of(actions, kind) -> list:
    return [a for a in actions if isinstance(a, kind)]


def test_scripted_operation() -> None:
    rig = Rig()
    assert rig.do(PermitPushed(permit()))[0] == SessionChanged("S1", "authorized", "P1", WALL0, "permit P1 received")
    out = rig.wait(299)
    assert rig.session.phase == Phase.AUTHORIZED and not of(out, PushAttestation)
    out = rig.wait(2)
    (push,) = of(out, PushAttestation)
    assert push.lock_ids == {"L1"} and push.decision.valid_until == rig.now.wall + 1800
    assert rig.session.phase == Phase.TESTED and of(out, DriveSiren) == []
    assert not of(rig.wait(60), PushAttestation)  # no re-push while the attestation is fresh

    rig.do(LockOpened("L1", OpenMethod.TOKEN, "P1"))
    assert rig.session.phase == Phase.IN_WORK and rig.session.deadline == rig.now.wall + 3600
    rig.do(EntrantIn("a"))
    rig.do(EntrantIn("b"))
    out = rig.do(EntrantIn("c"))
    assert rig.open_alarm(AlarmKind.ENTRANT_LIMIT_EXCEEDED) and of(out, Evacuate)
    rig.do(EntrantOut("c"))
    limit_alarm = rig.open_alarm(AlarmKind.ENTRANT_LIMIT_EXCEEDED)
    assert not limit_alarm.active
    rig.alarms.acknowledge(limit_alarm.id, "attendant", rig.now)
    assert of(rig.do(Tick()), DriveSiren) == [DriveSiren("S1", SirenPattern.OFF)]

    out = rig.wait(1, h2s=25.0)  # H2S spike
    kinds = {a.event.key.kind for a in of(out, RecordAlarm)}
    assert {AlarmKind.GAS_LEVEL1, AlarmKind.GAS_LEVEL2} <= kinds
    assert of(out, DriveSiren) == [DriveSiren("S1", SirenPattern.CONTINUOUS)]
    assert of(out, StartFan) and of(out, Evacuate)
    assert rig.session.suspended
    level2 = rig.open_alarm(AlarmKind.GAS_LEVEL2, "H2S")
    with pytest.raises(AlarmError):
        rig.alarms.acknowledge(level2.id, "attendant", rig.now)
    rig.wait(300)
    assert "in range for 300 s first" in of(rig.do(EntryConfirmed("attendant")), Notify)[0].message
    rig.wait(1)
    assert of(rig.do(EntryConfirmed("attendant")), SessionChanged)[0].reason.startswith("work resumed")
    for alarm in rig.alarms.open_alarms():
        rig.alarms.acknowledge(alarm.id, "attendant", rig.now)
    assert of(rig.do(Tick()), DriveSiren) == [DriveSiren("S1", SirenPattern.OFF)]

    deferred = rig.do(PadlockPushRequested("L1", "revocation list v7"))
    assert of(deferred, DeferPadlockPush) and not of(deferred, SendPadlockPush)

    left = rig.session.deadline - rig.now.wall
    rig.wait(left - 600)
    assert rig.open_alarm(AlarmKind.OVERTIME_WARNING) and rig.session.phase == Phase.IN_WORK
    out = rig.wait(600)
    assert rig.session.phase == Phase.OVERTIME and rig.open_alarm(AlarmKind.OVERTIME) and of(out, Evacuate)

    out = rig.do(LockClosed("L1"))
    assert of(out, Notify) and rig.session.is_open  # two still inside: never closes
    rig.do(EntrantOut("a"))
    out = rig.do(EntrantOut("b"))
    assert rig.session.phase == Phase.CLOSED and not rig.session.is_open
    assert of(out, SendPadlockPush) == [SendPadlockPush("L1", "revocation list v7")]
    assert not rig.open_alarm(AlarmKind.OVERTIME).active  # cleared, still latched until acknowledged


def test_ventilation_phase_bars_entry_until_confirmed() -> None:
    rig = Rig()
    rig.do(PermitPushed(permit(ventilation=True)))
    rig.do(LockOpened("L1", OpenMethod.TOKEN, "P1"))
    assert rig.session.phase == Phase.VENTILATING and rig.session.deadline is not None
    out = rig.do(EntrantIn("a"))
    assert of(out, Evacuate) and "barred" in of(out, Evacuate)[0].reasons[0]
    rig.do(EntrantOut("a"))
    assert of(rig.do(EntryConfirmed("attendant")), Notify)  # not yet tested
    rig.wait(301)
    assert rig.session.phase == Phase.TESTED
    rig.do(EntryConfirmed("attendant"))
    assert rig.session.phase == Phase.IN_WORK and not of(rig.do(EntrantIn("a")), Evacuate)


def test_unauthorized_open_alarms_and_gets_a_deadline() -> None:
    rig = Rig()
    for method, pid in [(OpenMethod.FORCED, None), (OpenMethod.MECHANICAL_KEY, None), (OpenMethod.UNKNOWN_TOKEN, "X")]:
        rig = Rig()
        out = rig.do(LockOpened("L1", method, pid))
        assert rig.session.phase == Phase.UNAUTHORIZED_OPEN and rig.session.deadline == WALL0 + 1800
        alarm = rig.open_alarm(AlarmKind.UNAUTHORIZED_OPEN, "L1")
        assert alarm and method.value in alarm.reason and of(out, Evacuate) and of(out, DriveSiren)
        out = rig.do(EntrantIn("z"))
        assert rig.open_alarm(AlarmKind.ENTRANT_LIMIT_EXCEEDED)
        rig.do(EntrantOut("z"))
        rig.do(LockClosed("L1"))
        assert rig.session.phase == Phase.CLOSED


def test_token_for_another_permit_or_lock_or_out_of_window_is_unauthorized() -> None:
    for event, p in [
        (LockOpened("L1", OpenMethod.TOKEN, "P2"), permit()),
        (LockOpened("L9", OpenMethod.TOKEN, "P1"), permit()),
        (LockOpened("L1", OpenMethod.TOKEN, "P1"), permit(not_before=WALL0 + 60)),
    ]:
        rig = Rig()
        rig.do(PermitPushed(p))
        rig.do(event)
        assert rig.session.phase == Phase.UNAUTHORIZED_OPEN


def test_revoked_permit_evacuates_and_defers_the_revocation_push() -> None:
    rig = Rig()
    rig.do(PermitPushed(permit()))
    rig.do(LockOpened("L1", OpenMethod.TOKEN, "P1"))
    rig.do(EntrantIn("a"))
    out = rig.do(PermitRevoked("P1", "weather warning"))
    assert of(out, Evacuate)[0].reasons == ("permit P1 revoked: weather warning",) and rig.session.is_open
    assert of(rig.do(PadlockPushRequested("L1", "revoke P1")), DeferPadlockPush)
    assert of(rig.do(PadlockPushRequested("L7", "keys")), SendPadlockPush)  # another space's padlock
    assert of(rig.do(EntryConfirmed("x")), Notify)
    rig.do(EntrantOut("a"))
    out = rig.do(LockClosed("L1"))
    assert of(out, SendPadlockPush) == [SendPadlockPush("L1", "revoke P1")]


def test_revoked_before_opening_closes() -> None:
    rig = Rig()
    rig.do(PermitPushed(permit()))
    rig.do(PermitRevoked("other"))
    assert rig.session.phase == Phase.AUTHORIZED
    rig.do(PermitRevoked("P1"))
    assert rig.session.phase == Phase.CLOSED and rig.session.permit is None


def test_permit_refusals() -> None:
    rig = Rig()
    assert of(rig.do(PermitPushed(permit(space="S2"))), Notify)
    assert of(rig.do(PermitPushed(permit(expires=WALL0))), Notify)
    rig.do(PermitPushed(permit()))
    rig.do(LockOpened("L1", OpenMethod.TOKEN, "P1"))
    assert of(rig.do(PermitPushed(permit(permit_id="P2"))), Notify) and rig.session.permit.permit_id == "P1"


def test_permit_expiring_before_opening_closes() -> None:
    rig = Rig()
    rig.do(PermitPushed(permit(expires=WALL0 + 10)))
    rig.wait(10)
    assert rig.session.phase == Phase.CLOSED


def test_comm_loss_during_session_is_an_alarm_and_suspends() -> None:
    rig = Rig()
    rig.do(PermitPushed(permit()))
    rig.wait(301)
    rig.do(LockOpened("L1", OpenMethod.TOKEN, "P1"))
    out = rig.wait(1, status=ReadingStatus.COMM_LOSS)
    assert rig.open_alarm(AlarmKind.COMM_LOSS, "det-1") and rig.session.suspended and of(out, Evacuate)


def test_gas_state_outside_session_does_not_alarm_on_faults_but_blocks_attestation() -> None:
    rig = Rig()
    rig.do(PermitPushed(permit()))
    out = rig.wait(400, status=ReadingStatus.FAULT)
    assert not of(out, RecordAlarm) and not of(out, PushAttestation) and rig.session.phase == Phase.AUTHORIZED


def test_gas_test_lapsing_returns_to_authorized() -> None:
    rig = Rig()
    rig.do(PermitPushed(permit()))
    rig.wait(301)
    assert rig.session.phase == Phase.TESTED
    rig.wait(1, h2s=12)
    assert rig.session.phase == Phase.AUTHORIZED


def test_lock_alerts() -> None:
    rig = Rig()
    rig.do(LockAlert("L1", tamper=True))
    rig.do(LockAlert("L1", tamper=False))
    assert rig.open_alarm(AlarmKind.TAMPER, "L1") and rig.open_alarm(AlarmKind.LOW_BATTERY, "L1")
    rig.do(LockAlert("L1", tamper=False, active=False))
    assert not rig.open_alarm(AlarmKind.LOW_BATTERY, "L1").active


def test_check_in_without_open_hatch_and_unknown_check_out() -> None:
    rig = Rig()
    assert of(rig.do(EntrantIn("a")), Notify) and rig.session.entrants == set()
    assert of(rig.do(EntrantOut("a")), Notify)


def test_restore_fires_a_missed_deadline_at_once() -> None:
    rig = Rig()
    rig.do(PermitPushed(permit()))
    rig.do(LockOpened("L1", OpenMethod.TOKEN, "P1"))
    rig.do(EntrantIn("a"))
    session_data = json.loads(json.dumps(rig.session.snapshot()))
    alarm_data = json.loads(json.dumps(rig.alarms.snapshot()))
    later = Now(3.0, WALL0 + 3700)  # power was out past the deadline; a new boot's monotonic clock
    alarms, _ = AlarmSet.restore(alarm_data, later)
    session, out = SpaceSession.restore(session_data, alarms, later, POLICY)
    assert session.phase == Phase.OVERTIME and session.entrants == {"a"}
    assert alarms.find(AlarmKey(AlarmKind.OVERTIME, "S1")) and of(out, Evacuate)
    assert DriveSiren("S1", SirenPattern.CONTINUOUS) in out


def test_restore_keeps_a_future_deadline_on_the_monotonic_clock() -> None:
    rig = Rig()
    rig.do(PermitPushed(permit()))
    rig.do(LockOpened("L1", OpenMethod.TOKEN, "P1"))
    later = Now(5.0, WALL0 + 100)
    session, out = SpaceSession.restore(rig.session.snapshot(), rig.alarms, later, POLICY)
    assert session.phase == Phase.IN_WORK and not of(out, RecordAlarm)
    session.handle(Tick(), Now(5.0 + 3500 - 600, WALL0 + 3000))  # wall clock drifted: the monotonic clock rules
    assert rig.alarms.find(AlarmKey(AlarmKind.OVERTIME_WARNING, "S1"))


PEOPLE = ["a", "b", "c"]
LOCKS = ["L1", "L2"]


class SessionMachine(RuleBasedStateMachine):
    """Random inputs, acks, restarts and clock jumps; the safety properties must hold after every step."""

    @initialize()
    def start(self) -> None:
        self.rig = Rig()
        self.raised: set[int] = set()
        self.closed: set[int] = set()
        self.siren = SirenPattern.OFF  # as last driven

    def _run(self, event) -> None:
        was_open, inside_before = self.rig.session.is_open, set(self.rig.session.entrants)
        actions = self.rig.do(event)
        self._check(actions, was_open, inside_before)

    def _check(self, actions, was_open: bool = False, inside_before: frozenset = frozenset()) -> None:
        s = self.rig.session
        for a in actions:
            if isinstance(a, RecordAlarm):
                (self.closed if a.event.closed else self.raised).add(a.event.alarm_id)
            if isinstance(a, DriveSiren):
                self.siren = a.pattern
            if isinstance(a, SendPadlockPush):
                # Never bar anyone in: a trust change reaches a session's padlock only once the session is closed.
                assert not s.is_open or a.lock_id not in s.locks
            if isinstance(a, SessionChanged) and a.phase == "closed":
                assert not s.entrants
        if was_open and inside_before and s.is_open:
            assert not any(isinstance(a, SendPadlockPush) and a.lock_id in s.locks for a in actions)

    @rule(ventilation=st.booleans(), limit=st.integers(0, 3), pid=st.sampled_from(["P1", "P2"]))
    def push_permit(self, ventilation: bool, limit: int, pid: str) -> None:
        p = permit(permit_id=pid, ventilation=ventilation, entrant_limit=limit, lock_ids=frozenset({"L1"}))
        self._run(PermitPushed(p))

    @rule(pid=st.sampled_from(["P1", "P2"]))
    def revoke(self, pid: str) -> None:
        self._run(PermitRevoked(pid))

    @rule(lock=st.sampled_from(LOCKS), method=st.sampled_from(list(OpenMethod)), pid=st.sampled_from(["P1", None]))
    def open_lock(self, lock: str, method: OpenMethod, pid: str | None) -> None:
        self._run(LockOpened(lock, method, pid))

    @rule(lock=st.sampled_from(LOCKS))
    def close_lock(self, lock: str) -> None:
        self._run(LockClosed(lock))

    @rule(person=st.sampled_from(PEOPLE))
    def check_in(self, person: str) -> None:
        self._run(EntrantIn(person))

    @rule(person=st.sampled_from(PEOPLE))
    def check_out(self, person: str) -> None:
        self._run(EntrantOut(person))

    @rule()
    def confirm(self) -> None:
        self._run(EntryConfirmed("attendant"))

    @rule(lock=st.sampled_from([*LOCKS, "L9"]))
    def push_request(self, lock: str) -> None:
        self._run(PadlockPushRequested(lock, "revocation list"))

    @rule(seconds=st.integers(1, 400), h2s=st.sampled_from([0.0, 0.0, 12.0, 25.0]), ok=st.booleans())
    def gas(self, seconds: int, h2s: float, ok: bool) -> None:
        was_open, inside = self.rig.session.is_open, set(self.rig.session.entrants)
        status = ReadingStatus.OK if ok else ReadingStatus.COMM_LOSS
        self._check(self.rig.wait(min(seconds, 5), h2s, status), was_open, inside)
        self.rig.now = self.rig.now.later(seconds)
        self._run(Tick())

    @rule(pick=st.integers(0, 9))
    def acknowledge(self, pick: int) -> None:
        open_ = self.rig.alarms.open_alarms()
        if open_:
            try:
                events = self.rig.alarms.acknowledge(open_[pick % len(open_)].id, "attendant", self.rig.now)
            except AlarmError:
                return
            self._check([RecordAlarm(e) for e in events])

    @rule(fault=st.booleans())
    def storage(self, fault: bool) -> None:
        """The gateway's storage fails or recovers (as the daemon's storage loop does it)."""
        key = AlarmKey(AlarmKind.GATEWAY_FAULT, "S1", "storage")
        events = self.rig.alarms.set_condition(key, fault, "disk full" if fault else "recovered", self.rig.now)
        self._check([RecordAlarm(e) for e in events])
        self._run(Tick())

    @rule(down=st.integers(0, 5000))
    def restart(self, down: int) -> None:
        s_data = json.loads(json.dumps(self.rig.session.snapshot()))
        a_data = json.loads(json.dumps(self.rig.alarms.snapshot()))
        self.rig.now = Now(0.0, self.rig.now.wall + down)
        self.rig.alarms, events = AlarmSet.restore(a_data, self.rig.now)
        self.rig.session, actions = SpaceSession.restore(s_data, self.rig.alarms, self.rig.now, POLICY)
        self.rig.monitor = GasMonitor("S1", space_limits(GASES), 0.0, GasMonitorConfig())
        self._check([RecordAlarm(e) for e in events] + actions)

    @invariant()
    def open_session_has_a_running_deadline(self) -> None:
        s = self.rig.session
        if s.is_open:
            assert s.deadline is not None and s.phase not in (Phase.IDLE, Phase.AUTHORIZED, Phase.CLOSED)
        else:
            assert s.deadline is None and not s.entrants

    @invariant()
    def missed_deadline_is_an_alarm(self) -> None:
        s = self.rig.session
        if s.is_open and s.deadline is not None and self.rig.now.wall > s.deadline + 1:
            assert self.rig.alarms.find(AlarmKey(AlarmKind.OVERTIME, "S1"))

    @invariant()
    def no_alarm_lost_before_acknowledged(self) -> None:
        open_ids = {a.id for a in self.rig.alarms.open_alarms()}
        assert self.raised - self.closed <= open_ids

    @invariant()
    def a_gas_alarm_sounds_the_evacuation_pattern(self) -> None:
        """Whenever a gas alarm is active and the siren sounds, it sounds continuously (never the fault's pulses);
        an unacknowledged gas alarm always sounds it (no mutes in this machine)."""
        gas = [a for a in self.rig.alarms.open_alarms()
               if a.key.kind in (AlarmKind.GAS_LEVEL1, AlarmKind.GAS_LEVEL2, AlarmKind.STEL, AlarmKind.TWA)]
        if any(a.active for a in gas) and self.siren is not SirenPattern.OFF:
            assert self.siren is SirenPattern.CONTINUOUS
        if any(not a.acknowledged for a in gas):
            assert self.siren is SirenPattern.CONTINUOUS

    @invariant()
    def too_many_inside_is_an_alarm(self) -> None:
        s = self.rig.session
        limit = s.permit.entrant_limit if s.permit and s.phase != Phase.UNAUTHORIZED_OPEN else 0
        if s.is_open and len(s.entrants) > limit:
            alarm = self.rig.alarms.find(AlarmKey(AlarmKind.ENTRANT_LIMIT_EXCEEDED, "S1"))
            assert alarm is not None and alarm.active


TestSessionMachine = SessionMachine.TestCase
TestSessionMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
