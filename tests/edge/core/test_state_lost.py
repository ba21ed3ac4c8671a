"""A space whose state the gateway lost: possibly occupied until the attendant confirms it empty.

Scripted cases, then the session machine of ``test_session`` with lost states and confirmations mixed into its
random inputs: while the past is unknown a ``state_lost`` alarm is open and active, no padlock push goes out, and
the state survives a restart.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from edge.core.alarms import AlarmError, AlarmEventType, AlarmKind, SirenPattern
from edge.core.gas import ReadingStatus
from edge.core.session import SpaceSession
from edge.core.session_io import (
    DeferPadlockPush,
    DriveSiren,
    EntrantIn,
    EntrantOut,
    Evacuate,
    LockClosed,
    LockOpened,
    Notify,
    OpenMethod,
    PadlockPushRequested,
    PermitPushed,
    RecordAlarm,
    SendPadlockPush,
    SpaceConfirmedEmpty,
    StateLost,
)
from tests.edge.core.test_session import POLICY, Rig, SessionMachine, of, permit

LOST = StateLost("state.json", "not valid JSON", unknown_past=True)


def alarm_steps(actions: list) -> list[tuple[AlarmEventType, AlarmKind, str]]:
    return [(a.event.type, a.event.key.kind, a.event.key.subject) for a in of(actions, RecordAlarm)]


def test_lost_state_raises_a_latched_alarm_that_only_the_confirmation_clears() -> None:
    rig = Rig()
    out = rig.do(LOST)
    assert alarm_steps(out) == [(AlarmEventType.RAISED, AlarmKind.STATE_LOST, "state.json")]
    assert of(out, DriveSiren) == [DriveSiren("S1", SirenPattern.PULSED)] and of(out, Notify)
    alarm = rig.open_alarm(AlarmKind.STATE_LOST, "state.json")
    with pytest.raises(AlarmError):  # an acknowledgement does not end "possibly occupied"
        rig.alarms.acknowledge(alarm.id, "attendant", rig.now)
    rig.wait(5)
    assert rig.session.unknown_past and rig.open_alarm(AlarmKind.STATE_LOST, "state.json").active
    out = rig.do(SpaceConfirmedEmpty("attendant-3"))
    assert alarm_steps(out) == [(AlarmEventType.CLEARED, AlarmKind.STATE_LOST, "state.json")]
    assert not rig.session.unknown_past
    rig.alarms.acknowledge(alarm.id, "attendant-3", rig.now)
    assert rig.open_alarm(AlarmKind.STATE_LOST, "state.json") is None
    assert of(rig.do(SpaceConfirmedEmpty("attendant-3")), Notify)  # nothing left to confirm


def test_a_possibly_occupied_space_alarms_on_detector_faults_and_evacuates() -> None:
    rig = Rig()
    rig.do(LOST)
    out = rig.wait(1, status=ReadingStatus.COMM_LOSS)
    assert rig.open_alarm(AlarmKind.COMM_LOSS, "det-1") and of(out, Evacuate)


def test_a_known_empty_space_does_not_alarm_on_the_same_fault() -> None:  # the contrast the test above needs
    rig = Rig()
    out = rig.wait(1, status=ReadingStatus.COMM_LOSS)
    assert not rig.open_alarm(AlarmKind.COMM_LOSS, "det-1") and not of(out, Evacuate)


def test_padlock_pushes_wait_for_the_confirmation() -> None:
    rig = Rig()
    rig.do(LOST)
    assert of(rig.do(PadlockPushRequested("L7", "revocation list")), DeferPadlockPush)
    out = rig.do(SpaceConfirmedEmpty("attendant"))
    assert of(out, SendPadlockPush) == [SendPadlockPush("L7", "revocation list")]


def test_confirmation_refused_while_someone_is_checked_in() -> None:
    rig = Rig()
    rig.do(LOST)
    rig.do(PermitPushed(permit()))
    rig.wait(301)
    rig.do(LockOpened("L1", OpenMethod.TOKEN, "P1"))
    rig.do(EntrantIn("a"))
    rig.do(PadlockPushRequested("L1", "revoke"))
    assert of(rig.do(SpaceConfirmedEmpty("attendant")), Notify) and rig.session.unknown_past
    rig.do(EntrantOut("a"))
    out = rig.do(LockClosed("L1"))  # the session closes, but the space is still possibly occupied
    assert not rig.session.is_open and not of(out, SendPadlockPush)
    out = rig.do(SpaceConfirmedEmpty("attendant"))
    assert of(out, SendPadlockPush) == [SendPadlockPush("L1", "revoke")]


def test_other_files_raise_an_alarm_that_an_acknowledgement_closes() -> None:
    rig = Rig()
    out = rig.do(StateLost("outbox.db", "database disk image is malformed", unknown_past=False))
    assert alarm_steps(out) == [(AlarmEventType.RAISED, AlarmKind.STATE_LOST, "outbox.db"),
                                (AlarmEventType.CLEARED, AlarmKind.STATE_LOST, "outbox.db")]
    assert of(out, DriveSiren) == [DriveSiren("S1", SirenPattern.PULSED)] and not rig.session.unknown_past
    alarm = rig.open_alarm(AlarmKind.STATE_LOST, "outbox.db")
    events = rig.alarms.acknowledge(alarm.id, "attendant", rig.now)
    assert events[0].closed


def test_possibly_occupied_outlives_a_restart() -> None:
    rig = Rig()
    rig.do(LOST)
    data = json.loads(json.dumps(rig.session.snapshot()))
    restored, _actions = SpaceSession.restore(data, rig.alarms, rig.now, POLICY)
    assert restored.unknown_past
    # A snapshot written before this field existed restores as known.
    del data["unknown_past"]
    assert not SpaceSession.restore(data, rig.alarms, rig.now, POLICY)[0].unknown_past


class LostStateMachine(SessionMachine):
    """The session machine, with the state lost and the space confirmed empty at random moments."""

    @rule(unknown=st.booleans())
    def lose_state(self, unknown: bool) -> None:
        self._run(StateLost("state.json" if unknown else "ledger.db", "unreadable", unknown_past=unknown))

    @rule()
    def confirm_empty(self) -> None:
        self._run(SpaceConfirmedEmpty("attendant"))

    def _check(self, actions, was_open: bool = False, inside_before: frozenset = frozenset()) -> None:
        super()._check(actions, was_open, inside_before)
        if self.rig.session.unknown_past:
            assert not of(actions, SendPadlockPush)  # nothing changes a padlock's trust while people may be inside

    @invariant()
    def unknown_past_holds_an_active_alarm(self) -> None:
        if self.rig.session.unknown_past:
            alarm = self.rig.open_alarm(AlarmKind.STATE_LOST, "state.json")
            assert alarm is not None and alarm.active and not alarm.acknowledged
            assert self.rig.alarms.siren_wanted("S1", self.rig.now.mono)  # no mutes in this machine


TestLostStateMachine = LostStateMachine.TestCase
TestLostStateMachine.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
