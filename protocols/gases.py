"""The one vocabulary of gas names, shared by detector profiles, the edge's safety core, uplink records and the
cloud's telemetry.

A gas is spelt as the uplink carries it (``protocols/uplink.md``): ``O2``, ``LEL`` (flammable gas, measured
against its lower explosive limit), ``H2S``, ``CO``. Those are the enum's values, so a record's ``gas`` field is
``Gas.H2S.value`` with no translation on the way, and a profile's ``[gases.H2S]`` table is that same name.

Files written before this vocabulary (an edge configuration's ``gases = ["h2s"]``, a saved alarm state naming
``flammable``) still read: :class:`Gas` also accepts a known gas in any letter case or by its member name, and
turns it into the one spelling. What is written is always the value.
"""

from __future__ import annotations

from enum import StrEnum


class Gas(StrEnum):
    """A gas a confined space is monitored for; the value is its wire name."""

    O2 = "O2"
    FLAMMABLE = "LEL"
    H2S = "H2S"
    CO = "CO"

    @classmethod
    def _missing_(cls, value: object) -> Gas | None:
        # Older spellings ("h2s", "flammable"): the same gas, so it reads as the same member.
        if isinstance(value, str):
            upper = value.upper()
            for gas in cls:
                if upper in (gas.value, gas.name):
                    return gas
        return None


def wire_name(name: str) -> str:
    """The uplink's name of a gas named ``name``: the enum's value for a known gas (any spelling), else ``name``
    in capitals, cut to the 16 characters a record's gas field holds (a vendor's extra sensor, "CH4", "NH3")."""
    try:
        return Gas(name).value
    except ValueError:
        return name.upper()[:16]
