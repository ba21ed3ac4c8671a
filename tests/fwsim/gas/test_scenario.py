"""Scenario files: every packaged one loads; malformed ones fail with a ConfigError naming the key."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fwsim.gas.scenario import Scenario, load_scenario, packaged_scenarios, parse_scenario, scenario_text
from safegrid.config import ConfigError

REQUIRED = {"clean_air", "o2_depletion", "h2s_spike", "lel_rise", "co_plume", "sensor_fault", "warm_up",
            "calibration_overdue", "comm_loss", "garbled_crc", "slow_replies"}


def minimal(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"scenario": {"format": 1, "name": "t", "description": "d", "duration_s": 10}}
    data.update(extra)
    return data


def test_every_required_scenario_is_packaged_and_checks_something() -> None:
    assert set(packaged_scenarios()) >= REQUIRED
    for name in packaged_scenarios():
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario.checks, f"{name} has no [[checks]]"
        assert all(c.at_s <= scenario.scenario.duration_s for c in scenario.checks)


def test_unknown_scenario_is_named() -> None:
    with pytest.raises(ConfigError, match="no packaged scenario"):
        load_scenario("no_such")


def test_unit_scripts_merge_common_and_own() -> None:
    scenario = parse_scenario(minimal(
        all_units={"gases": {"O2": {"points": [[0, 20.9]]}}, "faults": [{"kind": "comm_loss", "start_s": 1}]},
        units={"2": {"gases": {"H2S": {"points": [[0, 5.0]]}}, "faults": [{"kind": "garbled_crc"}]}}))
    two = scenario.script(2)
    assert set(two.gases) == {"O2", "H2S"}
    assert [f.kind for f in two.faults] == ["comm_loss", "garbled_crc"]
    assert scenario.script(1) == scenario.all_units


@pytest.mark.parametrize(("extra", "key"), [
    ({"baseline": {"nox": 1.0}}, "baseline.nox"),
    ({"units": {"0": {}}}, "units"),
    ({"units": {"abc": {}}}, "units"),
    ({"units": {"1": {"gases": {"H2S": {"points": [[5, 1.0], [1, 2.0]]}}}}}, "units[1].gases.H2S.points"),
    ({"units": {"1": {"gases": {"H2S": {"points": []}}}}}, "units[1].gases.H2S.points"),
    ({"units": {"1": {"states": [{"status": "calibrating"}]}}}, "units[1].states[0]"),
    ({"units": {"1": {"states": [{"status": "fault", "gas": "CO", "start_s": 5, "end_s": 5}]}}}, "units[1].states[0]"),
    ({"units": {"1": {"faults": [{"kind": "slow_replies"}]}}}, "units[1].faults[0]"),
    ({"units": {"1": {"faults": [{"kind": "comm_loss", "delay_s": 1}]}}}, "units[1].faults[0]"),
    ({"units": {"1": {"t90_s": {"O2": -1}}}}, "units[1].t90_s.O2"),
    ({"units": {"1": {"colour": "red"}}}, "units[1].colour"),
    ({"checks": [{"at_s": 1, "unit": 1, "value": 2.0}]}, "checks[0]"),
    ({"checks": [{"at_s": 1, "unit": 1, "reply": "none", "gas": "O2"}]}, "checks[0]"),
    ({"checks": [{"at_s": 1, "unit": 1, "gas": "xenon"}]}, "checks[0].gas"),
])
def test_bad_scenarios_name_the_key(extra: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_scenario(minimal(**extra))
    assert err.value.key is not None and err.value.key.startswith(key)


def test_bad_meta_and_text() -> None:
    with pytest.raises(ConfigError) as err:
        parse_scenario({"scenario": {"format": 2, "name": "t", "description": "d", "duration_s": 1}})
    assert err.value.key == "scenario.format"
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_scenario("[scenario")
    with pytest.raises(ConfigError) as err:
        parse_scenario(minimal(scenario={"format": 1, "name": "t", "description": "d", "duration_s": 1,
                                         "profile": "output-module"}))
    assert err.value.key == "scenario.profile"
    with pytest.raises(ConfigError):
        parse_scenario("x" * 300_000)


def test_packaged_text_is_the_file_loaded() -> None:
    assert tomllib.loads(scenario_text("h2s_spike"))["scenario"]["name"] == "h2s_spike"


json_values = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True)
                           | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=4), max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(junk=st.dictionaries(st.sampled_from(["scenario", "baseline", "units", "all_units", "checks", "setpoints",
                                             "x"]), json_values, max_size=5))
def test_random_data_is_a_config_error_or_a_scenario(junk: dict[str, Any]) -> None:
    try:
        result = parse_scenario(junk)
    except ConfigError as exc:  # anything else escaping fails the test
        assert exc.path == "<scenario>"
    else:
        assert isinstance(result, Scenario)


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(sorted(REQUIRED)), cut=st.integers(0, 4000))
def test_truncated_packaged_files_fail_cleanly(name: str, cut: int) -> None:
    text = scenario_text(name)
    try:
        result = parse_scenario(text[:cut])
    except ConfigError as exc:
        assert exc.path == "<scenario>"
    else:
        assert result.name == name  # a cut that keeps the file valid keeps its meaning
