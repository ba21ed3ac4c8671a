"""Output-module registers ↔ :class:`OutputModuleState`: siren/beacon/fan coils and local inputs by name.

Coils are read with function 1 and written with 5 (one) or 15 (several); inputs (the attendant's local
acknowledge button) are discrete inputs read with function 2. An inverted input is a normally-closed contact:
it reads 0 when pressed, so a broken wire looks pressed rather than silently never pressed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from protocols.errors import ProfileError
from protocols.gasprofile.identification import identity_from_registers, identity_to_registers
from protocols.gasprofile.model import OutputModuleProfile
from protocols.gasprofile.readings import OutputModuleState
from protocols.gasprofile.registers import Image, Registers, image_from_blocks


def _require_output_module(profile: Any) -> OutputModuleProfile:
    if not isinstance(profile, OutputModuleProfile):
        raise ProfileError("not an output-module profile", code="wrong_profile", field="profile.kind")
    return profile


def decode_output_module(profile: OutputModuleProfile, blocks: Mapping[Any, Sequence[int | bool]]
                         ) -> OutputModuleState:
    """Decode one poll of an output module; every coil and input of the profile must have been read."""
    profile = _require_output_module(profile)
    regs = Registers(image_from_blocks(blocks))
    outputs = {name: bool(regs.words(1, ch.coil, 1, f"outputs.{name}.coil")[0])
               for name, ch in profile.outputs.items()}
    inputs = {name: bool(regs.words(2, ch.discrete_input, 1, f"inputs.{name}.discrete_input")[0]) != ch.inverted
              for name, ch in profile.inputs.items()}
    heartbeat = None
    if profile.heartbeat is not None:
        fn = profile.heartbeat.function or profile.modbus.function
        heartbeat = regs.words(fn, profile.heartbeat.address, 1, "heartbeat")[0]
    return OutputModuleState(profile=profile.id, outputs=outputs, inputs=inputs, heartbeat=heartbeat,
                             identity=identity_from_registers(profile, regs))


def encode_output_module(profile: OutputModuleProfile, state: OutputModuleState) -> Image:
    """The coils, discrete inputs and registers a module in ``state`` serves (function → address → value)."""
    profile = _require_output_module(profile)
    _same_names(state.outputs, profile.outputs, "outputs")
    _same_names(state.inputs, profile.inputs, "inputs")
    image: Image = {1: {}, 2: {}}
    for name, ch in profile.outputs.items():
        image[1][ch.coil] = int(bool(state.outputs[name]))
    for name, inp in profile.inputs.items():
        image[2][inp.discrete_input] = int(bool(state.inputs[name]) != inp.inverted)
    if profile.heartbeat is not None:
        if not isinstance(state.heartbeat, int) or not 0 <= state.heartbeat <= 0xFFFF:
            raise ProfileError(f"heartbeat must be 0..65535, not {state.heartbeat!r}", code="not_encodable",
                               field="heartbeat")
        image.setdefault(profile.heartbeat.function or profile.modbus.function, {})[
            profile.heartbeat.address] = state.heartbeat
    elif state.heartbeat is not None:
        raise ProfileError("the profile has no heartbeat register", code="not_encodable", field="heartbeat")
    if state.identity is not None:
        identity_to_registers(profile, state.identity, image)
    return image


def _same_names(given: Mapping[str, Any], expected: Mapping[str, Any], key: str) -> None:
    if set(given) != set(expected):
        raise ProfileError(f"need exactly {sorted(expected)}, got {sorted(given)}", code="not_encodable", field=key)


def coil_writes(profile: OutputModuleProfile, desired: Mapping[str, bool]) -> tuple[tuple[int, bool], ...]:
    """(coil address, on) for each named output, sorted by address: what to write with function 5 or 15."""
    profile = _require_output_module(profile)
    writes = []
    for name, on in desired.items():
        channel = profile.outputs.get(name)
        if channel is None:
            raise ProfileError(f"no output {name!r}; have {sorted(profile.outputs)}", code="unknown_output",
                               field=f"outputs.{name}")
        writes.append((channel.coil, bool(on)))
    return tuple(sorted(writes))


def outputs_of_kind(profile: OutputModuleProfile, kind: str, channel: int | None = None) -> tuple[str, ...]:
    """Names of the outputs of one kind (``siren``, ``beacon``, ``fan``, ``relay``), optionally for one channel."""
    profile = _require_output_module(profile)
    return tuple(name for name, ch in profile.outputs.items()
                 if ch.kind == kind and (channel is None or ch.channel in (None, channel)))
