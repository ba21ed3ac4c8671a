"""The alarm latch: raise, acknowledge, clear, mute, snapshot/restore — and that no alarm is ever lost."""

from __future__ import annotations

import json

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from edge.core.alarms import (
    MAX_MUTE_S,
    AlarmError,
    AlarmEventType,
    AlarmKey,
    AlarmKind,
    AlarmSet,
    SirenPattern,
)
from edge.core.clock import Now

T0 = Now(100.0, 1_760_000_000)
L1 = AlarmKey(AlarmKind.GAS_LEVEL1, "space-1", "H2S")
L2 = AlarmKey(AlarmKind.GAS_LEVEL2, "space-1", "H2S")
OT = AlarmKey(AlarmKind.OVERTIME, "space-1", "permit-7")
GF = AlarmKey(AlarmKind.GATEWAY_FAULT, "space-1", "storage")
LOST = AlarmKey(AlarmKind.STATE_LOST, "space-1", "outbox.db")
GAS_KINDS = frozenset({AlarmKind.GAS_LEVEL1, AlarmKind.GAS_LEVEL2, AlarmKind.STEL, AlarmKind.TWA})


def types(events) -> list[str]:
    return [e.type.value for e in events]


def test_raise_ack_clear_closes_and_keeps_the_record() -> None:
    alarms = AlarmSet()
    raised = alarms.set_condition(L1, True, "H2S 12 mg/m3 ≥ 10", T0)
    assert types(raised) == ["raised"] and raised[0].reason == "H2S 12 mg/m3 ≥ 10" and raised[0].by == "gateway"
    assert alarms.set_condition(L1, True, "H2S 13 mg/m3 ≥ 10", T0.later(1)) == []  # no flood while it lasts
    (ack,) = alarms.acknowledge(raised[0].alarm_id, "attendant:li", T0.later(2))
    assert (ack.type, ack.by, ack.at, ack.closed) == (AlarmEventType.ACKNOWLEDGED, "attendant:li", T0.wall + 2, False)
    assert alarms.find(L1) is not None  # still latched: the gas is still out of range
    (clear,) = alarms.set_condition(L1, False, "back in range", T0.later(3))
    assert clear.type == AlarmEventType.CLEARED and clear.closed and alarms.find(L1) is None


def test_clear_before_ack_stays_latched_until_acknowledged() -> None:
    alarms = AlarmSet()
    (raised,) = alarms.set_condition(L2, True, "H2S 25", T0)
    (clear,) = alarms.set_condition(L2, False, "back in range", T0.later(5))
    assert not clear.closed and alarms.find(L2) is not None and not alarms.find(L2).active
    assert alarms.siren_wanted("space-1", T0.mono + 5)
    (ack,) = alarms.acknowledge(raised.alarm_id, "cloud:wang", T0.later(6))
    assert ack.closed and alarms.open_alarms() == []


def test_reactivated_before_close() -> None:
    alarms = AlarmSet()
    (raised,) = alarms.set_condition(L1, True, "a", T0)
    alarms.set_condition(L1, False, "b", T0)
    (again,) = alarms.set_condition(L1, True, "c", T0)
    assert again.type == AlarmEventType.REACTIVATED and again.alarm_id == raised.alarm_id


def test_new_alarm_after_close_gets_a_new_id() -> None:
    alarms = AlarmSet()
    (first,) = alarms.set_condition(OT, True, "a", T0)
    alarms.acknowledge(first.alarm_id, "x", T0)
    alarms.set_condition(OT, False, "b", T0)
    (second,) = alarms.set_condition(OT, True, "c", T0)
    assert second.type == AlarmEventType.RAISED and second.alarm_id == first.alarm_id + 1


def test_level2_cannot_be_acknowledged_while_out_of_range() -> None:
    alarms = AlarmSet()
    (raised,) = alarms.set_condition(L2, True, "H2S 25 mg/m3 ≥ 20", T0)
    with pytest.raises(AlarmError, match="H2S 25"):
        alarms.acknowledge(raised.alarm_id, "attendant", T0)
    assert not alarms.find(L2).acknowledged


def test_level1_can_be_acknowledged_while_out_of_range_and_siren_stops() -> None:
    alarms = AlarmSet()
    (raised,) = alarms.set_condition(L1, True, "H2S 12", T0)
    assert alarms.siren_wanted("space-1", T0.mono) and alarms.beacon_wanted("space-1")
    alarms.acknowledge(raised.alarm_id, "attendant", T0)
    assert not alarms.siren_wanted("space-1", T0.mono) and alarms.beacon_wanted("space-1")
    assert alarms.acknowledge(raised.alarm_id, "attendant", T0) == []  # twice is harmless
    assert not alarms.siren_wanted("space-2", T0.mono)


def test_mute_expires_by_itself_and_is_recorded() -> None:
    alarms = AlarmSet()
    (raised,) = alarms.set_condition(L2, True, "H2S 25", T0)
    (muted,) = alarms.mute(raised.alarm_id, "attendant", T0, 60)
    assert muted.type == AlarmEventType.MUTED and muted.by == "attendant"
    assert not alarms.siren_wanted("space-1", T0.mono + 59)
    assert alarms.expire_mutes(T0.later(59)) == []
    assert alarms.siren_wanted("space-1", T0.mono + 60)  # the siren does not wait for the tick
    (expired,) = alarms.expire_mutes(T0.later(60))
    assert expired.type == AlarmEventType.MUTE_EXPIRED and expired.at == T0.wall + 60
    assert alarms.expire_mutes(T0.later(61)) == []


def test_mute_bounds_and_unknown_ids() -> None:
    alarms = AlarmSet()
    (raised,) = alarms.set_condition(L1, True, "x", T0)
    for seconds in (0, -1, MAX_MUTE_S + 1):
        with pytest.raises(AlarmError):
            alarms.mute(raised.alarm_id, "a", T0, seconds)
    with pytest.raises(AlarmError, match="no open alarm"):
        alarms.acknowledge(99, "a", T0)
    alarms.acknowledge(raised.alarm_id, "a", T0)
    assert alarms.mute(raised.alarm_id, "a", T0, 10) == []


def test_reconcile_only_touches_what_the_source_owns() -> None:
    alarms = AlarmSet()
    alarms.set_condition(OT, True, "overtime", T0)
    events = alarms.reconcile({L1: "H2S 12"}, lambda k: k.kind == AlarmKind.GAS_LEVEL1, T0)
    assert types(events) == ["raised"]
    events = alarms.reconcile({}, lambda k: k.kind == AlarmKind.GAS_LEVEL1, T0)
    assert types(events) == ["cleared"] and alarms.find(OT).active


def test_snapshot_restore_round_trip_drops_mutes_with_a_record() -> None:
    alarms = AlarmSet()
    (a,) = alarms.set_condition(L1, True, "x", T0)
    (b,) = alarms.set_condition(L2, True, "y", T0)
    alarms.acknowledge(a.alarm_id, "li", T0)
    alarms.mute(b.alarm_id, "li", T0, 300)
    data = json.loads(json.dumps(alarms.snapshot()))
    restored, events = AlarmSet.restore(data, Now(0.0, T0.wall + 30))
    assert [(e.type, e.alarm_id, e.reason) for e in events] == [
        (AlarmEventType.MUTE_EXPIRED, b.alarm_id, "gateway restarted")
    ]
    assert [(x.id, x.key, x.acknowledged_by, x.active) for x in restored.open_alarms()] == [
        (x.id, x.key, x.acknowledged_by, x.active) for x in alarms.open_alarms()
    ]
    assert restored.siren_wanted("space-1", 0.0)
    (c,) = restored.set_condition(OT, True, "z", T0)
    assert c.alarm_id == b.alarm_id + 1  # ids continue after a restart


def test_a_gateway_fault_alone_pulses_the_siren_and_acknowledged_silences_it_with_the_beacon_on() -> None:
    alarms = AlarmSet()
    (fault,) = alarms.set_condition(GF, True, "storage: disk full", T0)
    assert alarms.siren_pattern("space-1", T0.mono) is SirenPattern.PULSED and alarms.beacon_wanted("space-1")
    assert alarms.siren_pattern("space-2", T0.mono) is SirenPattern.OFF
    alarms.acknowledge(fault.alarm_id, "attendant", T0)  # as any alarm: the siren stops, the beacon stays while open
    assert alarms.siren_pattern("space-1", T0.mono) is SirenPattern.OFF and alarms.beacon_wanted("space-1")
    alarms.set_condition(GF, False, "storage recovered", T0.later(1))
    assert not alarms.beacon_wanted("space-1")


def test_a_lost_state_alone_pulses_too() -> None:
    alarms = AlarmSet()
    alarms.set_condition(LOST, True, "outbox.db unreadable", T0)
    alarms.set_condition(LOST, False, "outbox.db started afresh", T0)
    assert alarms.siren_pattern("space-1", T0.mono) is SirenPattern.PULSED


def test_gas_and_people_alarms_sound_continuously_whatever_else_is_open() -> None:
    alarms = AlarmSet()
    alarms.set_condition(GF, True, "storage", T0)
    (gas,) = alarms.set_condition(L1, True, "H2S 12", T0.later(1))
    assert alarms.siren_pattern("space-1", T0.mono + 1) is SirenPattern.CONTINUOUS
    # Gas acknowledged but still present: the fault's sound is still the evacuation tone, not "only the gateway".
    alarms.acknowledge(gas.alarm_id, "attendant", T0.later(2))
    assert alarms.siren_pattern("space-1", T0.mono + 2) is SirenPattern.CONTINUOUS
    alarms.set_condition(L1, False, "back in range", T0.later(3))  # acknowledged and cleared: closed
    assert alarms.siren_pattern("space-1", T0.mono + 3) is SirenPattern.PULSED
    alarms.set_condition(OT, True, "deadline passed", T0.later(4))
    assert alarms.siren_pattern("space-1", T0.mono + 4) is SirenPattern.CONTINUOUS


def test_an_acknowledged_low_battery_does_not_make_a_fault_an_evacuation() -> None:
    alarms = AlarmSet()
    battery = AlarmKey(AlarmKind.LOW_BATTERY, "space-1", "lock-1")
    (low,) = alarms.set_condition(battery, True, "battery 5 %", T0)
    assert alarms.siren_pattern("space-1", T0.mono) is SirenPattern.CONTINUOUS  # unacknowledged: as today
    alarms.acknowledge(low.alarm_id, "attendant", T0)
    alarms.set_condition(GF, True, "storage", T0)
    assert alarms.siren_pattern("space-1", T0.mono) is SirenPattern.PULSED


def test_a_muted_gas_alarm_still_present_keeps_a_fault_continuous() -> None:
    alarms = AlarmSet()
    (gas,) = alarms.set_condition(L2, True, "H2S 25", T0)
    alarms.mute(gas.alarm_id, "attendant", T0, 60)
    assert alarms.siren_pattern("space-1", T0.mono) is SirenPattern.OFF
    alarms.set_condition(GF, True, "storage", T0)
    assert alarms.siren_pattern("space-1", T0.mono) is SirenPattern.CONTINUOUS


KEYS = [L1, L2, OT, GF, AlarmKey(AlarmKind.TAMPER, "space-2", "lock-1")]


class AlarmMachine(RuleBasedStateMachine):
    """Random conditions, acks, mutes, ticks and restarts; the record must stay complete and consistent."""

    @initialize()
    def start(self) -> None:
        self.alarms = AlarmSet()
        self.now = T0
        self.events = []
        self.condition: dict[AlarmKey, bool] = {}

    def _take(self, events) -> None:
        self.events += events

    @rule(key=st.sampled_from(KEYS), active=st.booleans())
    def condition_changes(self, key: AlarmKey, active: bool) -> None:
        self.condition[key] = active
        self._take(self.alarms.set_condition(key, active, f"{key.kind} {active}", self.now))

    @rule(pick=st.integers(0, 5), who=st.sampled_from(["attendant", "cloud:wang"]))
    def acknowledge(self, pick: int, who: str) -> None:
        open_ = self.alarms.open_alarms()
        if not open_:
            return
        alarm = open_[pick % len(open_)]
        try:
            self._take(self.alarms.acknowledge(alarm.id, who, self.now))
        except AlarmError:
            assert alarm.key.kind == AlarmKind.GAS_LEVEL2 and alarm.active
        else:
            assert not (alarm.key.kind == AlarmKind.GAS_LEVEL2 and alarm.active)

    @rule(pick=st.integers(0, 5), seconds=st.floats(1, MAX_MUTE_S))
    def mute(self, pick: int, seconds: float) -> None:
        open_ = self.alarms.open_alarms()
        if open_:
            self._take(self.alarms.mute(open_[pick % len(open_)].id, "attendant", self.now, seconds))

    @rule(dt=st.floats(0, 400))
    def tick(self, dt: float) -> None:
        self.now = self.now.later(dt)
        self._take(self.alarms.expire_mutes(self.now))

    @rule()
    def restart(self) -> None:
        data = json.loads(json.dumps(self.alarms.snapshot()))
        self.now = Now(0.0, self.now.wall + 5)  # a new boot: the monotonic clock starts again
        self.alarms, events = AlarmSet.restore(data, self.now)
        self._take(events)

    @invariant()
    def no_alarm_lost_before_acknowledged_and_cleared(self) -> None:
        open_ids = {a.id for a in self.alarms.open_alarms()}
        by_id: dict[int, list] = {}
        for e in self.events:
            by_id.setdefault(e.alarm_id, []).append(e)
        for alarm_id, evs in by_id.items():
            assert evs[0].type == AlarmEventType.RAISED
            closed = [e for e in evs if e.closed]
            assert len(closed) <= 1 and (not closed or closed[0] is evs[-1])
            if closed:
                seen = {e.type for e in evs}
                assert AlarmEventType.ACKNOWLEDGED in seen and AlarmEventType.CLEARED in seen
                assert alarm_id not in open_ids
            else:
                assert alarm_id in open_ids  # raised and not closed: it is still there

    @invariant()
    def open_alarms_match_conditions(self) -> None:
        for alarm in self.alarms.open_alarms():
            assert alarm.active == self.condition.get(alarm.key, False)
        for key, active in self.condition.items():
            if active:
                assert self.alarms.find(key) is not None

    @invariant()
    def siren_iff_an_unacknowledged_unmuted_alarm(self) -> None:
        expected = any(
            a.key.space == "space-1"
            and not a.acknowledged
            and (a.muted_until is None or self.now.mono >= a.muted_until)
            for a in self.alarms.open_alarms()
        )
        assert self.alarms.siren_wanted("space-1", self.now.mono) == expected

    @invariant()
    def a_gas_alarm_always_sounds_the_evacuation_pattern(self) -> None:
        pattern = self.alarms.siren_pattern("space-1", self.now.mono)
        assert (pattern is SirenPattern.OFF) == (not self.alarms.siren_wanted("space-1", self.now.mono))
        mine = [a for a in self.alarms.open_alarms() if a.key.space == "space-1"]
        gas = [a for a in mine if a.key.kind in GAS_KINDS]
        if any(a.sounding(self.now.mono) for a in gas):
            assert pattern is SirenPattern.CONTINUOUS
        if any(a.active for a in gas) and pattern is not SirenPattern.OFF:
            assert pattern is SirenPattern.CONTINUOUS
        if pattern is SirenPattern.PULSED:  # only ever for the gateway's own fault
            assert any(a.key == GF and a.sounding(self.now.mono) for a in mine)


TestAlarmMachine = AlarmMachine.TestCase
TestAlarmMachine.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)


def test_an_alarm_keeps_the_text_it_was_raised_with_and_its_acknowledgement_says_so() -> None:
    """The acknowledgement entry repeated the last reading before the clear as if it were current."""
    alarms = AlarmSet()
    (raised,) = alarms.set_condition(L2, True, "H2S 35 mg/m3 at or above its level-2 limit 20 mg/m3", T0)
    alarms.set_condition(L2, True, "H2S 19.5 mg/m3 back inside its level-2 limit", T0.later(1))
    assert alarms.find(L2).reason.startswith("H2S 35 mg/m3")  # the value that raised it
    alarms.set_condition(L2, False, "condition no longer present", T0.later(2))
    (ack,) = alarms.acknowledge(raised.alarm_id, "li", T0.later(3))
    assert ack.reason == "condition cleared; raised for: H2S 35 mg/m3 at or above its level-2 limit 20 mg/m3"
    (again,) = alarms.set_condition(L1, True, "H2S 12 mg/m3", T0.later(4))
    (ack1,) = alarms.acknowledge(again.alarm_id, "li", T0.later(5))
    assert ack1.reason.startswith("condition still present; raised for: H2S 12")
