"""Gas evaluation: levels with hysteresis, exposure, staleness and faults, in-range time, trend."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from edge.core.alarms import AlarmKey, AlarmKind, AlarmSet
from edge.core.clock import Now
from edge.core.gas import (
    GasMonitor,
    GasMonitorConfig,
    Level,
    Reading,
    ReadingStatus,
    next_level,
)
from edge.core.gas_alarms import gas_alarm_conditions, held_gas_levels
from edge.core.limits import DEFAULT_LIMITS, Band, Conditions, Gas, Unit, space_limits
from edge.core.trend import trend_slope

H2S, CO, O2 = DEFAULT_LIMITS[Gas.H2S], DEFAULT_LIMITS[Gas.CO], DEFAULT_LIMITS[Gas.O2]
FRESH_AIR = {Gas.O2: (20.9, Unit.PCT_VOL), Gas.H2S: (0.0, Unit.MG_M3), Gas.CO: (0.0, Unit.MG_M3),
             Gas.FLAMMABLE: (0.0, Unit.PCT_LEL)}  # fmt: skip


def monitor(gases=tuple(Gas), **cfg) -> GasMonitor:
    return GasMonitor("space-1", space_limits(gases), started_at=0.0, config=GasMonitorConfig(**cfg))


def feed_fresh_air(m: GasMonitor, start: float, end: float, step: float = 1.0, **override) -> None:
    t = start
    while t <= end:
        for gas in m.gases:
            value, unit = override.get(gas.value, FRESH_AIR[gas])
            m.observe(Reading(gas, value, unit, t, detector="det-1"))
        t += step


def test_fresh_air_is_normal_and_in_range() -> None:
    m = monitor()
    feed_fresh_air(m, 0, 300)
    state = m.evaluate(300)
    assert all(r.level == Level.NORMAL for r in state.gases.values())
    assert state.in_range_since == 0 and state.in_range_for(300) and not state.in_range_for(301)
    assert state.reasons == () and not state.rising


def test_levels_escalate_at_once() -> None:
    assert next_level(H2S, Level.NORMAL, 9.99) == Level.NORMAL
    assert next_level(H2S, Level.NORMAL, 10.0) == Level.LEVEL1
    assert next_level(H2S, Level.NORMAL, 20.0) == Level.LEVEL2
    assert next_level(O2, Level.NORMAL, 19.4) == Level.LEVEL2  # oxygen outside its range is always level 2
    assert next_level(O2, Level.NORMAL, 23.5) == Level.LEVEL2


def test_levels_clear_only_past_the_deadband() -> None:
    assert next_level(H2S, Level.LEVEL1, 9.5) == Level.LEVEL1
    assert next_level(H2S, Level.LEVEL1, 8.99) == Level.NORMAL
    assert next_level(H2S, Level.LEVEL2, 19.5) == Level.LEVEL2
    assert next_level(H2S, Level.LEVEL2, 15.0) == Level.LEVEL1
    assert next_level(H2S, Level.LEVEL2, 9.5) == Level.LEVEL1
    assert next_level(H2S, Level.LEVEL2, 1.0) == Level.NORMAL
    assert next_level(O2, Level.LEVEL2, 19.6) == Level.LEVEL2
    assert next_level(O2, Level.LEVEL2, 19.8) == Level.NORMAL


RANK = {Level.NORMAL: 0, Level.LEVEL1: 1, Level.LEVEL2: 2}


@given(st.lists(st.floats(0, 50), min_size=1, max_size=60))
def test_hysteresis_properties(values: list[float]) -> None:
    level = Level.NORMAL
    for v in values:
        new = next_level(H2S, level, v)
        raw = next_level(H2S, Level.NORMAL, v)
        assert RANK[new] >= RANK[raw]  # never below what the value itself says
        if RANK[new] < RANK[level]:  # a drop needs the value clear of the set-point by the deadband
            assert v < (H2S.level2.high if level == Level.LEVEL2 else H2S.level1.high) - H2S.deadband
        level = new


@given(st.lists(st.floats(9.01, 10.99), min_size=2, max_size=60))
def test_no_chatter_within_the_deadband(values: list[float]) -> None:
    levels = [Level.LEVEL1]
    for v in values:
        levels.append(next_level(H2S, levels[-1], v))
    assert set(levels) == {Level.LEVEL1}


def test_ppm_reading_converted_at_measured_temperature() -> None:
    m = monitor([Gas.H2S])
    m.observe(Reading(Gas.H2S, 7.5, Unit.PPM, 1.0))  # 10.6 mg/m³ at 20 °C: over the MAC
    report = m.evaluate(1.0).gases[Gas.H2S]
    assert report.level == Level.LEVEL1 and report.value == pytest.approx(10.62, abs=0.01)
    assert "GBZ 2.1-2019" in report.reasons[0] and "level-1 limit 10 mg/m3" in report.reasons[0]
    m2 = monitor([Gas.H2S], conditions=Conditions(20.0))
    m2.observe(Reading(Gas.H2S, 7.2, Unit.PPM, 1.0, temperature_c=40.0))  # 9.5 mg/m³ in warm air
    assert m2.evaluate(1.0).gases[Gas.H2S].level == Level.NORMAL


def test_unconvertible_reading_is_a_fault_not_safe() -> None:
    m = monitor([Gas.FLAMMABLE])
    m.observe(Reading(Gas.FLAMMABLE, 0.1, Unit.PCT_VOL, 1.0))  # no LEL configured for the %VOL reading
    report = m.evaluate(1.0).gases[Gas.FLAMMABLE]
    assert report.level == Level.FAULT and "cannot convert" in report.reasons[0]
    m = monitor([Gas.FLAMMABLE], lel_pct_vol=5.0)
    m.observe(Reading(Gas.FLAMMABLE, 0.6, Unit.PCT_VOL, 1.0))
    assert m.evaluate(1.0).gases[Gas.FLAMMABLE].level == Level.LEVEL1


def test_unmonitored_and_out_of_order_readings_ignored() -> None:
    m = monitor([Gas.H2S])
    assert not m.observe(Reading(Gas.CO, 1.0, Unit.MG_M3, 1.0))
    assert m.observe(Reading(Gas.H2S, 1.0, Unit.MG_M3, 5.0))
    assert not m.observe(Reading(Gas.H2S, 50.0, Unit.MG_M3, 4.0))
    assert m.evaluate(5.0).gases[Gas.H2S].level == Level.NORMAL


def test_pending_then_stale_without_readings() -> None:
    m = monitor([Gas.O2], poll_interval_s=1.0, stale_after_polls=3)
    assert m.evaluate(2.0).gases[Gas.O2].level == Level.PENDING
    report = m.evaluate(3.5).gases[Gas.O2]
    assert report.level == Level.STALE and report.in_range_since is None


def test_stale_after_n_polls_and_gap_restarts_in_range_time() -> None:
    m = monitor([Gas.O2], poll_interval_s=1.0, stale_after_polls=3)
    feed_fresh_air(m, 0, 100)
    assert m.evaluate(103.0).gases[Gas.O2].level == Level.NORMAL
    stale = m.evaluate(103.5).gases[Gas.O2]
    assert stale.level == Level.STALE and "det-1" in stale.reasons[0] and "3 polls" in stale.reasons[0]
    feed_fresh_air(m, 110, 120)
    assert m.evaluate(120).in_range_since == 110  # the gap broke the continuous interval


@pytest.mark.parametrize(
    "status", [ReadingStatus.FAULT, ReadingStatus.COMM_LOSS, ReadingStatus.WARMUP, ReadingStatus.CALIBRATING]
)
def test_fault_statuses_hold_the_gas_level(status: ReadingStatus) -> None:
    m = monitor([Gas.H2S])
    m.observe(Reading(Gas.H2S, 25.0, Unit.MG_M3, 1.0, detector="det-9"))
    m.observe(Reading(Gas.H2S, 0.0, Unit.MG_M3, 2.0, status=status, detector="det-9"))
    report = m.evaluate(2.0).gases[Gas.H2S]
    assert (report.level, report.fault, report.gas_level) == (Level.FAULT, status, Level.LEVEL2)
    assert any("det-9" in r and status.value in r for r in report.reasons)
    assert report.in_range_since is None


def test_over_range_is_level2() -> None:
    m = monitor([Gas.H2S])
    m.observe(Reading(Gas.H2S, 5.0, Unit.MG_M3, 1.0, status=ReadingStatus.OVER_RANGE))
    report = m.evaluate(1.0).gases[Gas.H2S]
    assert report.level == Level.LEVEL2 and "over range" in report.reasons[0]


def test_co_stel_exceeded_over_15_minutes() -> None:
    m = monitor([Gas.CO])
    for t in range(0, 901):
        m.observe(Reading(Gas.CO, 35.0 if t < 600 else 15.0, Unit.MG_M3, float(t)))
    report = m.evaluate(900)
    co = report.gases[Gas.CO]
    # 600 s at 35 + 300 s at 15 = 28.3 average: under the 30 STEL; instantaneous 15 is back in range.
    assert co.stel == pytest.approx(28.33, abs=0.2) and not co.stel_exceeded and co.level == Level.NORMAL
    m2 = monitor([Gas.CO])
    for t in range(0, 901):
        m2.observe(Reading(Gas.CO, 36.0 if t < 800 else 15.0, Unit.MG_M3, float(t)))
    co2 = m2.evaluate(900).gases[Gas.CO]
    assert co2.stel_exceeded and co2.in_range_since is None and any("PC-STEL 30" in r for r in co2.reasons)


def test_co_twa_exceeded_over_8_hours() -> None:
    m = monitor([Gas.CO])
    for t in range(0, 8 * 3600 + 1, 10):
        m.observe(Reading(Gas.CO, 40.0 if t % 600 < 60 else 19.0, Unit.MG_M3, float(t)))
    co = m.evaluate(8 * 3600).gases[Gas.CO]
    assert co.twa is not None and co.twa > 20 and co.twa_exceeded and any("PC-TWA 20" in r for r in co.reasons)


def test_twa_counts_the_exposure_from_before_a_restart() -> None:
    """7 h at 22 mg/m³ CO, a restart (monotonic clock afresh, 1 min down), 1 h more: the 8-h TWA is over 20."""
    wall0 = 1_700_000_000
    before = monitor([Gas.CO])
    for t in range(0, 7 * 3600 + 1, 10):
        before.observe(Reading(Gas.CO, 22.0, Unit.MG_M3, float(t)))
    data = json.loads(json.dumps(before.snapshot_exposure(7 * 3600.0, wall0 + 7 * 3600)))
    after = monitor([Gas.CO])
    down_until = wall0 + 7 * 3600 + 60
    assert after.restore_exposure(data, 5.0, down_until) == ["CO.stel", "CO.twa"]
    assert after.evaluate(5.0).gases[Gas.CO].twa == pytest.approx(before.evaluate(7 * 3600.0).gases[Gas.CO].twa,
                                                                  abs=22.0 * 60 / (8 * 3600))
    for t in range(10, 3600 + 11, 10):
        after.observe(Reading(Gas.CO, 22.0, Unit.MG_M3, 5.0 + t))
    co = after.evaluate(5.0 + 3610).gases[Gas.CO]
    # 8 h at 22 less the 70 s between the snapshot and the first reading after the restart (or up to a bucket at
    # the window's edge and a bucket from the mapping more, on the safe side): over the PC-TWA of 20.
    assert 22.0 * (8 * 3600 - 70) / (8 * 3600) - 1e-9 <= co.twa <= 22.0 + 1e-9
    assert co.twa_exceeded and any("PC-TWA 20" in r for r in co.reasons)
    fresh = monitor([Gas.CO])  # without the restore, the same hour alone is nowhere near
    for t in range(10, 3600 + 11, 10):
        fresh.observe(Reading(Gas.CO, 22.0, Unit.MG_M3, 5.0 + t))
    assert not fresh.evaluate(5.0 + 3610).gases[Gas.CO].twa_exceeded


def test_restore_exposure_skips_another_unit_and_refuses_garbage() -> None:
    m = monitor([Gas.CO])
    m.observe(Reading(Gas.CO, 22.0, Unit.MG_M3, 0.0))
    data = m.snapshot_exposure(600.0, 10_600)
    other = monitor([Gas.CO])
    assert other.restore_exposure({"CO": {**data["CO"], "unit": "ppm"}}, 0.0, 10_600) == []
    assert other.restore_exposure({"H2S": data["CO"]}, 0.0, 10_600) == []  # a gas the space does not monitor
    with pytest.raises(ValueError):
        other.restore_exposure(["CO"], 0.0, 10_600)  # type: ignore[arg-type]
    assert other.evaluate(0.0).gases[Gas.CO].stel == 0.0


def test_rising_trend() -> None:
    m = monitor([Gas.H2S])
    for t in range(0, 60):
        m.observe(Reading(Gas.H2S, 1.0 + t * 0.05, Unit.MG_M3, float(t)))  # 3 mg/m³ per minute from 1
    state = m.evaluate(59)
    assert state.rising and state.gases[Gas.H2S].level == Level.NORMAL and "rising" in state.reasons[0]
    flat = monitor([Gas.H2S])
    for t in range(0, 60):
        flat.observe(Reading(Gas.H2S, 1.0 + (t % 2) * 0.1, Unit.MG_M3, float(t)))
    assert not flat.evaluate(59).rising


def test_falling_oxygen_is_a_rising_hazard() -> None:
    m = monitor([Gas.O2])
    for t in range(0, 60):
        m.observe(Reading(Gas.O2, 20.9 - t * 0.01, Unit.PCT_VOL, float(t)))  # -0.6 %VOL/min
    assert m.evaluate(59).rising


def test_trend_slope() -> None:
    from collections import deque

    assert trend_slope(deque([(0, 1.0), (1, 2.0)])) is None
    assert trend_slope(deque([(5, 1.0), (5, 2.0), (5, 3.0)])) is None
    assert trend_slope(deque([(0, 1.0), (1, 3.0), (2, 5.0)])) == pytest.approx(2.0)


def test_out_of_range_between_evaluations_breaks_the_interval() -> None:
    m = monitor()
    feed_fresh_air(m, 0, 100)
    m.observe(Reading(Gas.H2S, 12.0, Unit.MG_M3, 100.5))
    feed_fresh_air(m, 101, 200)  # back to 0 mg/m³: cleared past the deadband
    state = m.evaluate(200)
    assert state.in_range_since == 101 and not state.in_range_for(120)


def test_custom_band_override_applies() -> None:
    from edge.core.limits import LimitOverride

    limits = space_limits([Gas.H2S], {Gas.H2S: LimitOverride(level1=Band(high=5.0))})
    m = GasMonitor("s", limits, 0.0)
    m.observe(Reading(Gas.H2S, 6.0, Unit.MG_M3, 1.0))
    assert m.evaluate(1.0).gases[Gas.H2S].level == Level.LEVEL1


class GasMonitorMachine(RuleBasedStateMachine):
    """Random readings, statuses and clock jumps; the in-range claim must match the reading history."""

    @initialize()
    def start(self) -> None:
        self.cfg = GasMonitorConfig(poll_interval_s=1.0, stale_after_polls=3)
        self.m = GasMonitor("s", space_limits([Gas.O2, Gas.H2S]), 0.0, self.cfg)
        self.now = 0.0
        self.history: list[Reading] = []

    @rule(dt=st.floats(0, 5))
    def wait(self, dt: float) -> None:
        self.now += dt

    @rule(
        gas=st.sampled_from([Gas.O2, Gas.H2S]),
        value=st.floats(0, 30),
        status=st.sampled_from(list(ReadingStatus)),
        ok=st.booleans(),
    )
    def read(self, gas: Gas, value: float, status: ReadingStatus, ok: bool) -> None:
        if gas == Gas.O2:
            value = 15 + value / 3  # 15–25 %VOL
        reading = Reading(gas, value, Unit.MG_M3 if gas == Gas.H2S else Unit.PCT_VOL, self.now,
                          ReadingStatus.OK if ok else status)  # fmt: skip
        assert self.m.observe(reading)
        self.history.append(reading)

    @invariant()
    def in_range_claim_is_backed_by_every_reading(self) -> None:
        state = self.m.evaluate(self.now)
        since = state.in_range_since
        if since is None:
            return
        assert since <= self.now
        for gas, limit in ((Gas.O2, DEFAULT_LIMITS[Gas.O2]), (Gas.H2S, DEFAULT_LIMITS[Gas.H2S])):
            times = [r.at for r in self.history if r.gas == gas]
            assert times and self.now - times[-1] <= self.cfg.stale_after_s
            readings = [r for r in self.history if r.gas == gas]
            # a later reading at the same instant supersedes an earlier one
            latest = [r for i, r in enumerate(readings) if i + 1 == len(readings) or readings[i + 1].at != r.at]
            window = [r for r in latest if r.at >= since]
            for r in window:
                assert r.status == ReadingStatus.OK and limit.level1.contains(r.value)
            stamps = [since, *[r.at for r in window]]
            assert all(b - a <= self.cfg.stale_after_s for a, b in itertools.pairwise(stamps))

    @invariant()
    def alarm_level_never_below_the_last_value(self) -> None:
        state = self.m.evaluate(self.now)
        for gas, report in state.gases.items():
            last = [r for r in self.history if r.gas == gas and r.status == ReadingStatus.OK]
            if last and report.value is not None and report.fault is None and self.history[-1] in last:
                raw = next_level(DEFAULT_LIMITS[gas], Level.NORMAL, last[-1].value)
                assert RANK[report.gas_level] >= RANK[raw]


TestGasMonitorMachine = GasMonitorMachine.TestCase
TestGasMonitorMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)


def test_a_held_level_stays_until_a_reading_clears_it_through_the_deadband() -> None:
    m = monitor()
    m.hold_level(Gas.H2S, Level.LEVEL2)  # a restart with the level-2 alarm active
    report = m.evaluate(1.0).gases[Gas.H2S]
    assert report.gas_level == Level.LEVEL2 and report.level == Level.PENDING
    assert any("held from before the restart" in r for r in report.reasons)
    assert AlarmKey(AlarmKind.GAS_LEVEL2, "space-1", "H2S") in gas_alarm_conditions(m.evaluate(1.0), False)
    m.observe(Reading(Gas.H2S, 15.0, Unit.MG_M3, 2.0, detector="det-1"))
    assert m.evaluate(2.0).gases[Gas.H2S].gas_level == Level.LEVEL1  # de-escalates as any reading would
    m.observe(Reading(Gas.H2S, 1.0, Unit.MG_M3, 3.0, detector="det-1"))
    assert m.evaluate(3.0).gases[Gas.H2S].gas_level == Level.NORMAL
    m.hold_level(Gas.H2S, Level.LEVEL2)  # only a monitor that has seen nothing yet takes a held level
    assert m.evaluate(3.0).gases[Gas.H2S].gas_level == Level.NORMAL


def test_held_levels_come_from_active_gas_alarms_of_the_space() -> None:
    alarms = AlarmSet()
    for kind, space, gas in ((AlarmKind.GAS_LEVEL1, "s", "H2S"), (AlarmKind.GAS_LEVEL2, "s", "H2S"),
                             (AlarmKind.GAS_LEVEL1, "s", "CO"), (AlarmKind.GAS_LEVEL2, "other", "O2"),
                             (AlarmKind.STALE_DATA, "s", "det-1")):
        alarms.set_condition(AlarmKey(kind, space, gas), True, "test", Now(0.0, 0))
    assert held_gas_levels(alarms.open_alarms(), "s") == {Gas.H2S: Level.LEVEL2, Gas.CO: Level.LEVEL1}


def test_restore_exposure_reads_a_snapshot_that_spells_the_gas_the_old_way() -> None:
    """exposure.json written before the one gas vocabulary keys CO as "co": the windows still come back."""
    m = monitor([Gas.CO])
    m.observe(Reading(Gas.CO, 22.0, Unit.MG_M3, 0.0))
    data = m.snapshot_exposure(600.0, 10_600)
    assert list(data) == ["CO"]
    assert monitor([Gas.CO]).restore_exposure({"co": data["CO"]}, 0.0, 10_600) == ["CO.stel", "CO.twa"]
