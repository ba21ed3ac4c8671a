"""Gas state → alarm conditions: hazards always, fail-safe faults during a session, levels held through faults."""

from __future__ import annotations

from edge.core.alarms import AlarmKey, AlarmKind, AlarmSet
from edge.core.clock import Now
from edge.core.gas import GasMonitor, GasMonitorConfig, Level, Reading, ReadingStatus
from edge.core.gas_alarms import gas_alarm_conditions, held_gas_levels, owns_gas_alarms
from edge.core.limits import Gas, Unit, space_limits


def make() -> GasMonitor:
    return GasMonitor("s1", space_limits([Gas.O2, Gas.H2S, Gas.CO]), 0.0, GasMonitorConfig(stale_after_polls=3))


def read(m: GasMonitor, t: float, o2=20.9, h2s=0.0, co=0.0, status=ReadingStatus.OK) -> None:
    for gas, v, u in ((Gas.O2, o2, Unit.PCT_VOL), (Gas.H2S, h2s, Unit.MG_M3), (Gas.CO, co, Unit.MG_M3)):
        m.observe(Reading(gas, v, u, t, status, detector="det-1"))


def kinds(conditions) -> set[tuple[AlarmKind, str]]:
    return {(k.kind, k.subject) for k in conditions}


def test_level2_implies_level1() -> None:
    m = make()
    read(m, 1, h2s=25)
    c = gas_alarm_conditions(m.evaluate(1), in_session=False)
    assert kinds(c) == {(AlarmKind.GAS_LEVEL1, "H2S"), (AlarmKind.GAS_LEVEL2, "H2S")}
    assert "H2S 25" in c[AlarmKey(AlarmKind.GAS_LEVEL2, "s1", "H2S")]


def test_faults_are_alarms_only_during_a_session_and_levels_hold() -> None:
    m = make()
    read(m, 1, h2s=25)
    read(m, 2, status=ReadingStatus.COMM_LOSS)
    state = m.evaluate(2)
    assert kinds(gas_alarm_conditions(state, in_session=False)) == {
        (AlarmKind.GAS_LEVEL1, "H2S"),
        (AlarmKind.GAS_LEVEL2, "H2S"),
    }
    c = gas_alarm_conditions(state, in_session=True)
    assert (AlarmKind.COMM_LOSS, "det-1") in kinds(c) and (AlarmKind.GAS_LEVEL2, "H2S") in kinds(c)
    assert len([k for k in c if k.kind == AlarmKind.COMM_LOSS]) == 1  # one detector, one alarm
    assert "O2" in c[AlarmKey(AlarmKind.COMM_LOSS, "s1", "det-1")]


def test_stale_and_detector_fault_during_session() -> None:
    m = make()
    read(m, 1)
    assert kinds(gas_alarm_conditions(m.evaluate(10), in_session=True)) == {(AlarmKind.STALE_DATA, "det-1")}
    read(m, 11, status=ReadingStatus.FAULT)
    assert kinds(gas_alarm_conditions(m.evaluate(11), in_session=True)) == {(AlarmKind.DETECTOR_FAULT, "det-1")}


def test_stel_condition() -> None:
    m = make()
    for t in range(0, 901):
        read(m, t, co=36.0 if t < 800 else 5.0)
    assert kinds(gas_alarm_conditions(m.evaluate(900), in_session=True)) == {(AlarmKind.STEL, "CO")}


def test_reconcile_with_the_alarm_set() -> None:
    m, alarms, now = make(), AlarmSet(), Now(1.0, 1_760_000_000)
    read(m, 1, h2s=12)
    events = alarms.reconcile(gas_alarm_conditions(m.evaluate(1), True), owns_gas_alarms("s1"), now)
    assert [e.key.kind for e in events] == [AlarmKind.GAS_LEVEL1]
    read(m, 2, h2s=0)
    events = alarms.reconcile(gas_alarm_conditions(m.evaluate(2), True), owns_gas_alarms("s1"), now)
    assert [e.type.value for e in events] == ["cleared"] and alarms.find(events[0].key) is not None  # still latched


def test_each_level_alarm_names_its_own_level_limit_and_value() -> None:
    """A level-1 alarm's text spoke of the level-2 range (both kinds shared the gas's reasons)."""
    m = make()
    read(m, 1, h2s=40)
    c = gas_alarm_conditions(m.evaluate(1), in_session=False)
    level1, level2 = c[AlarmKey(AlarmKind.GAS_LEVEL1, "s1", "H2S")], c[AlarmKey(AlarmKind.GAS_LEVEL2, "s1", "H2S")]
    assert "H2S 40 mg/m3" in level1 and "level-1 limit 10 mg/m3" in level1 and "level-2" not in level1
    assert "H2S 40 mg/m3" in level2 and "level-2 limit 20 mg/m3" in level2 and "level-1" not in level2


def test_a_gas_far_over_its_limit_is_not_rising_toward_it() -> None:
    """H2S four times over its limit was described as "rising toward" level 1."""
    m = make()
    for t in range(0, 61):
        read(m, t, h2s=t * 0.7)  # 0 → 42 mg/m³, rising all the way
    report = m.evaluate(60).gases[Gas.H2S]
    assert report.value == 42 and not report.rising
    assert not any("rising" in r for r in report.reasons), report.reasons
    conditions = gas_alarm_conditions(m.evaluate(60), in_session=True)
    assert not any("rising" in text for text in conditions.values())


def test_fault_alarms_carry_the_fault_not_the_gas_levels() -> None:
    m = make()
    read(m, 1, h2s=25)
    read(m, 2, status=ReadingStatus.FAULT)
    c = gas_alarm_conditions(m.evaluate(2), in_session=True)
    fault = c[AlarmKey(AlarmKind.DETECTOR_FAULT, "s1", "det-1")]
    assert "det-1 reports fault" in fault and "level-" not in fault


def test_a_level2_alarm_saved_before_the_one_gas_vocabulary_still_holds_its_level() -> None:
    """An alarm state written by an older gateway names its gas ``h2s``; after the upgrade the alarm reads as the
    ``H2S`` alarm it is: the restarted monitor holds level 2 for H2S, and the alarm matches its condition (no
    second H2S alarm beside it)."""
    old = {"next_id": 8, "alarms": [
        {"id": 7, "kind": "gas_level2", "space": "s1", "subject": "h2s", "raised_at": 1_760_000_000,
         "reason": "H2S 25 mg/m3", "active": True, "acknowledged_by": None, "acknowledged_at": None, "muted": False},
        {"id": 6, "kind": "stel", "space": "s1", "subject": "flammable", "raised_at": 1_760_000_000,
         "reason": "x", "active": True, "acknowledged_by": None, "acknowledged_at": None, "muted": False}]}
    alarms, _ = AlarmSet.restore(old, Now(0.0, 1_760_000_100))
    assert held_gas_levels(alarms.open_alarms(), "s1") == {Gas.H2S: Level.LEVEL2}
    assert {a.key.subject for a in alarms.open_alarms()} == {"H2S", "LEL"}
    m = make()
    m.hold_level(Gas.H2S, Level.LEVEL2)
    read(m, 1, h2s=25)
    events = alarms.reconcile(gas_alarm_conditions(m.evaluate(1), in_session=False), owns_gas_alarms("s1"),
                              Now(1.0, 1_760_000_101))
    assert not [e for e in events if e.key.kind is AlarmKind.GAS_LEVEL2]  # the same alarm, still raised
