"""Output module: coils and inputs by name, inverted contacts, coil writes, and garbage polls."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.errors import ProfileError
from protocols.gasprofile import (
    DeviceIdentity,
    OutputModuleProfile,
    OutputModuleState,
    ReadBlock,
    blocks_from_image,
    coil_writes,
    decode_output_module,
    encode_output_module,
    load_profile,
    outputs_of_kind,
    parse_profile,
    read_plan,
)
from tests.protocols.gasprofile.helpers import profile_dict

MODULE = load_profile("output-module")
assert isinstance(MODULE, OutputModuleProfile)
COILS, INPUTS, HEARTBEAT = ReadBlock(1, 0, 4), ReadBlock(2, 0, 2), ReadBlock(4, 0, 1)


def test_read_plan_is_coils_inputs_heartbeat() -> None:
    assert read_plan(MODULE) == (COILS, INPUTS, HEARTBEAT)  # the watchdog register is written, never read


def test_decode_by_name_accepting_bools_or_bits() -> None:
    state = decode_output_module(MODULE, {COILS: [True, False, True, False], INPUTS: [1, 0], HEARTBEAT: [77]})
    assert state.outputs == {"siren": True, "beacon": False, "fan_1": True, "fan_2": False}
    assert state.inputs == {"ack": True, "aux": False}
    assert state.heartbeat == 77 and state.identity is None


def test_inverted_input_reads_pressed_when_the_contact_opens() -> None:
    data = profile_dict("output-module")
    data["inputs"]["ack"]["inverted"] = True
    profile = parse_profile(data)
    assert isinstance(profile, OutputModuleProfile)
    assert decode_output_module(profile, {COILS: [0] * 4, INPUTS: [0, 0], HEARTBEAT: [1]}).inputs["ack"] is True
    assert decode_output_module(profile, {COILS: [0] * 4, INPUTS: [1, 0], HEARTBEAT: [1]}).inputs["ack"] is False
    image = encode_output_module(profile, decode_output_module(profile, {COILS: [0] * 4, INPUTS: [0, 1],
                                                                        HEARTBEAT: [1]}))
    assert image[2] == {0: 0, 1: 1}


def test_encode_round_trip_and_refusals() -> None:
    state = OutputModuleState(profile="output-module",
                              outputs={"siren": True, "beacon": True, "fan_1": False, "fan_2": True},
                              inputs={"ack": False, "aux": True}, heartbeat=65535)
    image = encode_output_module(MODULE, state)
    assert image[1] == {0: 1, 1: 1, 2: 0, 3: 1} and image[4] == {0: 65535}
    assert decode_output_module(MODULE, blocks_from_image(read_plan(MODULE), image)) == state
    for bad, field in [
        (dataclasses.replace(state, outputs={"siren": True}), "outputs"),
        (dataclasses.replace(state, inputs={}), "inputs"),
        (dataclasses.replace(state, heartbeat=-1), "heartbeat"),
        (dataclasses.replace(state, identity=DeviceIdentity(vendor="Acme")), "identification.registers.vendor"),
    ]:
        with pytest.raises(ProfileError) as err:
            encode_output_module(MODULE, bad)
        assert (err.value.code, err.value.field) == ("not_encodable", field)


def test_coil_writes_and_kinds() -> None:
    assert coil_writes(MODULE, {"fan_2": True, "siren": False}) == ((0, False), (3, True))
    with pytest.raises(ProfileError) as err:
        coil_writes(MODULE, {"horn": True})
    assert (err.value.code, err.value.field) == ("unknown_output", "outputs.horn")
    assert outputs_of_kind(MODULE, "fan") == ("fan_1", "fan_2")
    assert outputs_of_kind(MODULE, "fan", channel=2) == ("fan_2",)
    assert outputs_of_kind(MODULE, "siren", channel=2) == ("siren",)  # no channel: serves every channel


@pytest.mark.parametrize(
    "blocks",
    [
        {COILS: [2, 0, 0, 0], INPUTS: [0, 0], HEARTBEAT: [0]},
        {COILS: [0, 0, 0], INPUTS: [0, 0], HEARTBEAT: [0]},
        {COILS: [0, 0, 0, 0], HEARTBEAT: [0]},
        {COILS: [0, 0, 0, 0], INPUTS: [0, 0], HEARTBEAT: [True]},
        {COILS: [0, 0, 0, 0], INPUTS: [0, 0]},
    ],
)
def test_malformed_module_polls(blocks: Any) -> None:
    with pytest.raises(ProfileError) as err:
        decode_output_module(MODULE, blocks)
    assert err.value.code == "bad_registers"


def test_wrong_kind_of_profile() -> None:
    with pytest.raises(ProfileError) as err:
        decode_output_module(load_profile("generic-4gas"), {})  # type: ignore[arg-type]
    assert err.value.code == "wrong_profile"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-1, 3) | st.booleans(), min_size=4, max_size=4),
       st.lists(st.integers(-1, 3) | st.booleans(), min_size=0, max_size=3), st.integers(-5, 70000))
def test_random_module_polls_decode_or_raise_profile_error(coils: list, inputs: list, heartbeat: int) -> None:
    with contextlib.suppress(ProfileError):
        state = decode_output_module(MODULE, {COILS: coils, ReadBlock(2, 0, max(len(inputs), 1)): inputs,
                                              HEARTBEAT: [heartbeat]})
        assert state.outputs == {name: bool(c) for name, c in zip(MODULE.outputs, coils, strict=True)}
