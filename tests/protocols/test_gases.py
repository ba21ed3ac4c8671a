"""The one gas vocabulary: wire names as values, shared by profiles, the edge's core and uplink records."""

from __future__ import annotations

import re

import pytest

from protocols.gases import Gas, wire_name
from protocols.gasprofile import DetectorProfile, load_profile
from protocols.uplink.records import GasName


def test_the_values_are_the_uplink_names_and_the_packaged_profile_uses_them() -> None:
    assert [g.value for g in Gas] == ["O2", "LEL", "H2S", "CO"]
    pattern = next(m.pattern for m in GasName.__metadata__[0].metadata if hasattr(m, "pattern"))
    assert all(re.fullmatch(pattern, g.value) for g in Gas)  # every name fits the record schema's gas field
    profile = load_profile("generic-4gas")
    assert isinstance(profile, DetectorProfile) and set(profile.gases) == {g.value for g in Gas}


@pytest.mark.parametrize(("spelling", "gas"), [("H2S", Gas.H2S), ("h2s", Gas.H2S), ("flammable", Gas.FLAMMABLE),
                                               ("lel", Gas.FLAMMABLE), ("o2", Gas.O2), ("Co", Gas.CO)])
def test_older_spellings_read_as_the_same_gas(spelling: str, gas: Gas) -> None:
    assert Gas(spelling) is gas and wire_name(spelling) == gas.value


def test_a_name_outside_the_vocabulary_is_refused_by_the_enum_and_passed_on_by_wire_name() -> None:
    with pytest.raises(ValueError):
        Gas("ch4")
    with pytest.raises(ValueError):
        Gas(4)  # type: ignore[arg-type]
    assert wire_name("ch4") == "CH4" and len(wire_name("x" * 40)) == 16
