"""The scenario engine and the output-module model, pure: checks, determinism, faults, maintenance, watchdog."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fwsim.gas.checks import check_mismatches
from fwsim.gas.engine import ScenarioEngine
from fwsim.gas.output_module import OutputModule
from fwsim.gas.scenario import load_scenario, packaged_scenarios, parse_scenario
from protocols.gasprofile import ReadingStatus, decode_detector, load_profile, read_plan
from protocols.gasprofile.registers import blocks_from_image
from safegrid.config import ConfigError

START = date(2025, 6, 1)
PROFILE = load_profile("generic-4gas")


def engine_for(name: str, seed: int | None = None, units: tuple[int, ...] = (1, 2)) -> ScenarioEngine:
    scenario = load_scenario(name)
    return ScenarioEngine(scenario, set(units) | {c.unit for c in scenario.checks}, start_date=START, seed=seed)


def decoded(engine: ScenarioEngine, unit: int):
    """What a client decodes from the registers the engine serves (the wire format, minus the wire)."""
    return decode_detector(PROFILE, blocks_from_image(read_plan(PROFILE), engine.image(unit)))


@pytest.mark.parametrize("name", packaged_scenarios())
def test_registers_show_what_each_scenario_file_says(name: str) -> None:
    engine = engine_for(name)
    problems = []
    for check in engine.scenario.checks_in_order():
        engine.advance_to(check.at_s)
        fault = engine.fault(check.unit)
        no_reply = fault is not None and (fault.kind != "slow_replies" or fault.delay_s >= 0.5)
        problems += check_mismatches(check, None if no_reply else decoded(engine, check.unit))
    assert problems == []


@pytest.mark.parametrize("name", packaged_scenarios())
def test_every_second_of_every_scenario_encodes(name: str) -> None:
    engine = engine_for(name)
    duration = engine.scenario.scenario.duration_s
    step = max(1.0, duration / 300)
    t = 0.0
    while t <= duration:
        engine.advance_to(t)
        for unit in engine.units:
            assert decoded(engine, unit).heartbeat == int(t) & 0xFFFF
        t += step


def test_same_seed_same_readings_other_seed_other_noise() -> None:
    a, b, c = engine_for("clean_air", seed=7), engine_for("clean_air", seed=7), engine_for("clean_air", seed=8)
    images_a, images_b, images_c = [], [], []
    for t in range(0, 300, 3):
        for engine, out in ((a, images_a), (b, images_b), (c, images_c)):
            engine.advance_to(t)
            out.append(engine.image(1))
    assert images_a == images_b
    assert images_a != images_c


@settings(max_examples=25, deadline=None)
@given(stops=st.lists(st.floats(min_value=0, max_value=600), min_size=1, max_size=10))
def test_readings_at_a_time_do_not_depend_on_earlier_queries(stops: list[float]) -> None:
    stops = sorted(stops)
    often, once = engine_for("h2s_spike"), engine_for("h2s_spike")
    for t in stops:
        often.advance_to(t)
        often.image(1)
    once.advance_to(stops[-1])
    assert often.image(1) == once.image(1)


@settings(max_examples=25, deadline=None)
@given(a=st.floats(min_value=0, max_value=600), b=st.floats(min_value=0, max_value=600))
def test_scenario_time_is_monotone(a: float, b: float) -> None:
    engine = engine_for("co_plume")
    engine.advance_to(max(a, b))
    if min(a, b) < max(a, b):
        with pytest.raises(ValueError, match="backwards"):
            engine.advance_to(min(a, b))
    assert engine.now == max(a, b)


def test_faults_by_interval_worst_first() -> None:
    scenario = parse_scenario({
        "scenario": {"format": 1, "name": "t", "description": "d", "duration_s": 100},
        "units": {"1": {"faults": [{"kind": "slow_replies", "delay_s": 0.3, "start_s": 0, "end_s": 50},
                                   {"kind": "comm_loss", "start_s": 20, "end_s": 30},
                                   {"kind": "garbled_crc", "start_s": 40}]}}})
    engine = ScenarioEngine(scenario, [1, 2], start_date=START)
    seen = {}
    for t in (10, 25, 45, 60):
        engine.advance_to(t)
        seen[t] = engine.fault(1)
    assert (seen[10].kind, seen[10].delay_s) == ("slow_replies", 0.3)
    assert seen[25].kind == "comm_loss" and seen[45].kind == "garbled_crc" and seen[60].kind == "garbled_crc"
    assert engine.fault(2) is None and engine.fault(99) is None


def test_calibration_falls_due_as_the_days_pass() -> None:
    engine = engine_for("calibration_overdue")
    engine.advance_to(10)
    assert decoded(engine, 1).status.calibration_due and not decoded(engine, 2).status.calibration_due
    settings_2 = decoded(engine, 2).settings
    assert settings_2 is not None and settings_2[0].calibrated_on == date(2024, 12, 4)  # 179 days before START
    engine.advance_to(86_400 + 10)
    assert decoded(engine, 2).status.calibration_due
    assert decoded(engine, 2).reading("H2S").calibration_due


def test_set_points_follow_china_limits_by_default() -> None:
    engine = engine_for("clean_air")
    own = {s.gas: (s.alarm1.value, s.alarm2.value) for s in decoded(engine, 1).settings or ()}  # type: ignore[union-attr]
    assert own == {"O2": (19.5, 23.5), "LEL": (10.0, 20.0), "H2S": (7.0, 14.0), "CO": (17.0, 34.0)}


def test_device_fault_takes_every_value_away() -> None:
    engine = engine_for("sensor_fault")
    engine.advance_to(330)
    snapshot = decoded(engine, 1)
    assert snapshot.status.fault
    assert all(r.status == ReadingStatus.FAULT and r.value is None for r in snapshot.readings)


def test_engine_rejects_bad_units() -> None:
    with pytest.raises(ValueError):
        ScenarioEngine(load_scenario("clean_air"), [], start_date=START)
    with pytest.raises(ValueError):
        ScenarioEngine(load_scenario("clean_air"), [248], start_date=START)


# -- output module model -----------------------------------------------------------------------------------
def module() -> OutputModule:
    profile = load_profile("output-module")
    assert not isinstance(profile, type(PROFILE))
    return OutputModule(profile, 10)  # type: ignore[arg-type]


def test_coil_writes_and_button() -> None:
    m = module()
    assert m.write_coils(0, [True, True])
    assert m.coils == {"siren": True, "beacon": True, "fan_1": False, "fan_2": False}
    assert not m.write_coils(3, [True, True])  # coil 4 does not exist: nothing changes
    assert not m.coils["fan_2"]
    m.press("ack")
    assert m.image()[2] == {0: 1, 1: 0}
    m.release("ack")
    assert m.image()[2] == {0: 0, 1: 0}
    with pytest.raises(KeyError):
        m.press("panic")


def test_watchdog_switches_siren_and_beacon_on_when_the_gateway_goes_quiet() -> None:
    m = module()
    m.advance_to(100)
    assert not any(m.coils.values())  # never armed: a module without a gateway stays quiet
    m.write_watchdog(1)
    m.advance_to(105)
    m.write_watchdog(2)
    m.advance_to(114.9)
    assert not m.coils["siren"]
    m.write_watchdog(2)  # the same value is no sign of life
    m.advance_to(115)
    assert m.coils["siren"] and m.coils["beacon"] and not m.coils["fan_1"]
    assert m.watchdog_expiries == 1
    m.write_coils(0, [False, False])  # only the gateway switches them off again
    m.advance_to(200)
    assert not m.coils["siren"] and m.watchdog_expiries == 1
    with pytest.raises(ValueError):
        m.advance_to(100)
    assert m.image()[4] == {0: 200}  # heartbeat: one a second


def test_a_hung_detector_keeps_answering_with_a_heartbeat_that_stops() -> None:
    scenario = parse_scenario("""
[scenario]
format = 1
name = "hung"
description = "Unit 1 hangs at 30 s: its registers still answer, its heartbeat stops."
duration_s = 120

[[units.1.states]]
status = "hung"
start_s = 30
end_s = 90
""")
    engine = ScenarioEngine(scenario, [1], start_date=START)
    beats = []
    for t in (10, 29, 31, 60, 89, 95):
        engine.advance_to(t)
        snapshot = decoded(engine, 1)
        assert not snapshot.status.fault and all(r.status == ReadingStatus.OK for r in snapshot.readings)
        beats.append(snapshot.heartbeat)
    assert beats == [10, 29, 30, 30, 30, 95]


def test_hung_is_a_state_of_the_whole_detector() -> None:
    text = """
[scenario]
format = 1
name = "hung"
description = "A hung sensor is not a thing."
duration_s = 120

[[units.1.states]]
status = "hung"
gas = "H2S"
"""
    with pytest.raises(ConfigError) as err:
        parse_scenario(text)
    assert "whole detector" in str(err.value)
