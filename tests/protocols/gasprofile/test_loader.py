"""Profiles load from data; a bad profile is a ProfileError whose field is the dotted key at fault."""

from __future__ import annotations

import contextlib
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.errors import ProfileError
from protocols.gasprofile import (
    DetectorProfile,
    OutputModuleProfile,
    load_profile,
    packaged_profiles,
    parse_profile,
    read_plan,
)
from tests.protocols.gasprofile.helpers import profile_dict, with_change


def test_every_packaged_profile_loads_and_has_a_read_plan() -> None:
    names = packaged_profiles()
    assert {"generic-4gas", "output-module"} <= set(names)
    for name in names:
        profile = load_profile(name)
        assert profile.id == name
        assert read_plan(profile), name


def test_generic_detector_reads_in_two_blocks_and_polls_in_one() -> None:
    profile = load_profile("generic-4gas")
    assert isinstance(profile, DetectorProfile)
    assert list(profile.gases) == ["O2", "LEL", "H2S", "CO"]
    assert [(b.function, b.address, b.count) for b in read_plan(profile)] == [(3, 0, 44), (4, 0, 10)]
    assert [(b.function, b.address, b.count) for b in read_plan(profile, include_static=False)] == [(4, 0, 10)]


def test_output_module_profile_shape() -> None:
    profile = load_profile("output-module")
    assert isinstance(profile, OutputModuleProfile)
    assert {name: ch.kind for name, ch in profile.outputs.items()} == {
        "siren": "siren", "beacon": "beacon", "fan_1": "fan", "fan_2": "fan"}
    assert profile.inputs["ack"].kind == "acknowledge"
    assert profile.watchdog is not None and profile.watchdog.on_expiry == ("siren", "beacon")


def test_parse_profile_accepts_text_and_mapping_alike() -> None:
    assert parse_profile(profile_dict("generic-4gas")) == load_profile("generic-4gas")


@pytest.mark.parametrize(
    ("profile", "path", "value", "field"),
    [
        ("generic-4gas", "gases.H2S.scale", 0, "gases.H2S.scale"),
        ("generic-4gas", "gases.H2S.unit", "ppb", "gases.H2S.unit"),
        ("generic-4gas", "gases.H2S.colour", "red", "gases.H2S.colour"),
        ("generic-4gas", "gases.CO.value", 70000, "gases.CO.value.address"),
        ("generic-4gas", "gases.CO.value", 4, "gases.CO.value"),  # overlaps gases.H2S.value
        ("generic-4gas", "gases.O2.range", [30.0, 0.0], "gases.O2.range"),
        ("generic-4gas", "gases.O2.range", [0.0, float("inf")], "gases.O2.range"),
        ("generic-4gas", "gases.CO.scale", 100, "gases.CO.range"),  # 1000 ppm × 100 does not fit int16
        ("generic-4gas", "gases.O2.sentinels.0.word", 100, "gases.O2.sentinels[0].word"),  # = 10.0 %VOL
        ("generic-4gas", "gases.O2.sentinels.1.word", 0x8000, "gases.O2.sentinels[1].word"),  # listed twice
        ("generic-4gas", "gases.O2.alarm1.direction", "down", "gases.O2.alarm1.direction"),
        ("generic-4gas", "sensor_status_bits.alarm2", 0, "sensor_status_bits.alarm2"),
        ("generic-4gas", "sensor_status_bits.fault", 16, "sensor_status_bits.fault"),
        ("generic-4gas", "device.heartbeat", True, "device.heartbeat"),
        ("generic-4gas", "maintenance.calibration_interval_days", ..., "maintenance.calibration_interval_days"),
        ("generic-4gas", "modbus.function", 5, "modbus.function"),
        ("generic-4gas", "modbus", ..., "modbus"),
        ("generic-4gas", "profile.kind", "padlock", "profile.kind"),
        ("generic-4gas", "profile.format", 2, "profile.format"),
        ("generic-4gas", "profile.id", "Generic 4gas", "profile.id"),
        ("generic-4gas", "identification.objects.serial", 0x00, "identification.objects.serial"),
        ("generic-4gas", "identification.registers.serial.length", 40, "identification.registers.serial.length"),
        ("generic-4gas", "identification.registers.firmware.address", 65534,
         "identification.registers.firmware"),  # runs past 65535
        ("generic-4gas", "gases", {}, "gases"),
        ("output-module", "watchdog.on_expiry", ["siren", "horn"], "watchdog.on_expiry[1]"),
        ("output-module", "outputs.beacon.coil", 0, "outputs.beacon.coil"),
        ("output-module", "inputs.ack.kind", "door", "inputs.ack.kind"),
        ("output-module", "watchdog.timeout_s", 0, "watchdog.timeout_s"),
    ],
)
def test_bad_profile_names_the_key(profile: str, path: str, value: Any, field: str) -> None:
    with pytest.raises(ProfileError) as err:
        parse_profile(with_change(profile, path, value))
    assert err.value.field == field, str(err.value)
    assert err.value.code == "bad_profile"


def test_a_gas_name_that_is_not_a_gas_name_is_named() -> None:
    data = profile_dict("generic-4gas")
    data["gases"]["H 2S"] = data["gases"].pop("H2S")
    with pytest.raises(ProfileError) as err:
        parse_profile(data)
    assert err.value.field is not None and err.value.field.startswith("gases.H 2S")


@pytest.mark.parametrize("spelling", ["h2s", "flammable", "lel"])
def test_a_known_gas_has_one_spelling_in_a_profile(spelling: str) -> None:
    """Profiles name a gas as protocols.gases.Gas (and the uplink) does; another spelling of a known gas is
    refused, naming the right one, so a reading's name never needs translating."""
    data = profile_dict("generic-4gas")
    gas = "H2S" if spelling == "h2s" else "LEL"
    data["gases"][spelling] = data["gases"].pop(gas)
    with pytest.raises(ProfileError) as err:
        parse_profile(data)
    assert err.value.field == "gases" and repr(gas) in str(err.value)
    data["gases"]["CH4"] = data["gases"].pop(spelling)  # a gas outside the vocabulary is named as the profile says
    assert "CH4" in parse_profile(data).gases  # type: ignore[union-attr]


def test_text_that_is_not_toml_or_too_long_or_not_a_table() -> None:
    with pytest.raises(ProfileError, match="not valid TOML"):
        parse_profile("[profile\nid = 1")
    with pytest.raises(ProfileError, match="longer than"):
        parse_profile("#" * 70_000)
    with pytest.raises(ProfileError) as err:
        parse_profile([1, 2])  # type: ignore[arg-type]
    assert err.value.code == "bad_profile"


def test_unknown_packaged_name_and_paths_are_refused() -> None:
    for name in ("no-such-detector", "../profiles/generic-4gas", "generic-4gas.toml"):
        with pytest.raises(ProfileError) as err:
            load_profile(name)
        assert err.value.code == "unknown_profile"


# --- hypothesis: any mutation of a valid profile either loads or is a ProfileError ---------------------------

toml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=True)
    | st.text(max_size=12) | st.sampled_from(["fault", "rising", "ymd", "%VOL", "siren", "O2", "due"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            out += _paths(child, (*prefix, i))
    return out


@st.composite
def mutated_profiles(draw: st.DrawFn) -> Any:
    data = profile_dict(draw(st.sampled_from(["generic-4gas", "output-module"])))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        node = data
        for part in path[:-1]:
            node = node[part]
        if isinstance(node, dict) and draw(st.booleans()):
            del node[path[-1]]
        else:
            node[path[-1]] = draw(toml_values)
    return data


@settings(max_examples=300, deadline=None)
@given(mutated_profiles())
def test_mutated_profiles_load_or_raise_profile_error(data: Any) -> None:
    with contextlib.suppress(ProfileError):
        profile = parse_profile(data)
        assert read_plan(profile)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_random_text_raises_only_profile_error(text: str) -> None:
    with pytest.raises(ProfileError):
        parse_profile(text)


def test_the_example_profile_in_the_spec_is_valid() -> None:
    spec = resources.files("protocols").joinpath("gas_detector.md").read_text(encoding="utf-8")
    example = spec.split("```toml\n", 1)[1].split("```", 1)[0]
    profile = parse_profile(example)
    assert isinstance(profile, DetectorProfile)
    h2s = profile.gases["H2S"]
    assert (h2s.scale, h2s.raw_limits, h2s.bump_test is not None and h2s.bump_test.width) == (10, (-10, 1000), 3)
