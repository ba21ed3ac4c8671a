"""The shape of a gas-detector or output-module register profile, as validated pydantic models.

A profile is data (a TOML file), so a real vendor model is added without code. These models say which keys a
profile may have and what each must hold; :mod:`protocols.gasprofile.loader` adds the checks that span several
keys (overlapping registers, sentinels inside the measuring range, ...). Addresses are Modbus protocol addresses,
0-based (input register "30001" is address 0 with function 4; holding register "40001" is address 0 with function 3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from protocols.gases import Gas
from safegrid.config import StrictModel

Address = Annotated[int, Field(strict=True, ge=0, le=0xFFFF)]
Word = Annotated[int, Field(strict=True, ge=0, le=0xFFFF)]
Bit = Annotated[int, Field(strict=True, ge=0, le=15)]
ObjectId = Annotated[int, Field(strict=True, ge=0, le=0xFF)]
ReadFunction = Literal[3, 4]  # 3: holding registers, 4: input registers
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
# A gas is named as the uplink names it (protocols.gases.Gas: "O2", "LEL", "H2S", "CO"; a vendor's extra sensor
# by its formula, "CH4"), so a reading's name goes on the wire as it is.
GasKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_+-]{1,16}$")]
ProfileId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=64)]

GAS_UNITS = ("%VOL", "%LEL", "ppm", "mg/m3")
IDENTITY_FIELDS = ("vendor", "model", "serial", "firmware")
# Modbus register/bit limits per read request (Modbus application protocol, functions 1-4).
MAX_READ_COUNT = {1: 2000, 2: 2000, 3: 125, 4: 125}
INT16 = (-0x8000, 0x7FFF)
UINT16 = (0, 0xFFFF)


class RegisterRef(StrictModel):
    """One register. A bare integer in TOML is shorthand for ``{ address = N }``."""

    address: Address
    function: ReadFunction | None = None  # None: the profile's [modbus] function

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, int) and not isinstance(data, bool):
            return {"address": data}
        return data


class SetPointRef(RegisterRef):
    """A detector's own alarm set-point, scaled like the gas value; ``falling`` alarms below it (oxygen low)."""

    direction: Literal["rising", "falling"] = "rising"


class DateRef(RegisterRef):
    """A date: ``unix_days`` (one register, days since 1970-01-01) or ``ymd`` (three: year, month, day)."""

    encoding: Literal["unix_days", "ymd"] = "unix_days"
    meaning: Literal["last", "due"] = "last"  # the date it was done, or the date it falls due

    @property
    def width(self) -> int:
        return 1 if self.encoding == "unix_days" else 3


class TextRef(RegisterRef):
    """ASCII text packed two characters per register, high byte first, padded with NUL or space."""

    length: Annotated[int, Field(strict=True, ge=1, le=32)]  # registers


class Sentinel(StrictModel):
    """A value-register word that is not a measurement but a condition."""

    word: Word
    status: Literal["fault", "not_fitted", "over_range", "under_range"]


class SensorStatusBits(StrictModel):
    """Bit numbers (0 = least significant) in a sensor's status word; an absent bit is not reported."""

    alarm1: Bit | None = None
    alarm2: Bit | None = None
    fault: Bit | None = None
    warmup: Bit | None = None
    calibrating: Bit | None = None
    calibration_due: Bit | None = None


class DeviceStatusBits(StrictModel):
    """Bit numbers in the detector's device status word."""

    fault: Bit | None = None
    warmup: Bit | None = None
    calibration_due: Bit | None = None


class GasChannel(StrictModel):
    """One sensor: its value register and how to read it, its status word, set-points and maintenance dates."""

    unit: Literal["%VOL", "%LEL", "ppm", "mg/m3"]
    value: RegisterRef
    type: Literal["int16", "uint16"] = "int16"
    scale: Annotated[int, Field(strict=True, ge=1, le=10_000)] = 1  # register = value × scale
    range: tuple[float, float]  # measuring range, in unit
    zero_band: Annotated[float, Field(ge=0)] = 0.0  # zero drift below range[0] still reported as ok
    status: RegisterRef | None = None
    sentinels: Annotated[tuple[Sentinel, ...], Field(max_length=8)] = ()
    alarm1: SetPointRef | None = None
    alarm2: SetPointRef | None = None
    calibration: DateRef | None = None
    bump_test: DateRef | None = None

    @field_validator("range")
    @classmethod
    def _range_ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
            raise ValueError("must be [low, high] with finite low < high")
        return value

    @field_validator("zero_band")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be finite")
        return value

    @property
    def raw_limits(self) -> tuple[int, int]:
        """The register values (as the signed or unsigned type) that are measurements within range."""
        # The epsilon absorbs binary float error, e.g. 0.3 * 10 = 3.0000000000000004.
        low = math.ceil((self.range[0] - self.zero_band) * self.scale - 1e-9)
        high = math.floor(self.range[1] * self.scale + 1e-9)
        return low, high

    @property
    def type_limits(self) -> tuple[int, int]:
        return INT16 if self.type == "int16" else UINT16


class DeviceSection(StrictModel):
    status: RegisterRef | None = None
    heartbeat: RegisterRef | None = None  # a counter the detector increments; wraps at 65535
    status_bits: DeviceStatusBits = DeviceStatusBits()


class Maintenance(StrictModel):
    """Intervals that turn a "last calibrated/bump-tested" date into a due date."""

    calibration_interval_days: Annotated[int, Field(strict=True, ge=1, le=3650)] | None = None
    bump_interval_days: Annotated[int, Field(strict=True, ge=1, le=3650)] | None = None


class IdentityRegisters(StrictModel):
    vendor: TextRef | None = None
    model: TextRef | None = None
    serial: TextRef | None = None
    firmware: TextRef | None = None


class IdentityObjects(StrictModel):
    """Object ids for Modbus function 43 / MEI 14 (Read Device Identification)."""

    vendor: ObjectId | None = None
    model: ObjectId | None = None
    serial: ObjectId | None = None
    firmware: ObjectId | None = None


class Identification(StrictModel):
    registers: IdentityRegisters = IdentityRegisters()
    objects: IdentityObjects = IdentityObjects()


class ProfileMeta(StrictModel):
    format: Literal[1]
    id: ProfileId
    kind: Literal["gas_detector", "output_module"]
    vendor: Text
    model: Text
    description: Annotated[str, StringConstraints(max_length=2000)] = ""


class ModbusSection(StrictModel):
    function: ReadFunction  # the read function of every register that does not name its own
    max_read_gap: Annotated[int, Field(strict=True, ge=0, le=32)] = 0  # unmapped registers one read may span
    max_read_count: Annotated[int, Field(strict=True, ge=1, le=125)] = 125


@dataclass(frozen=True, slots=True)
class Span:
    """Registers (or bits) one profile key occupies: used for overlap checks, read plans and tests."""

    function: int
    address: int
    width: int
    key: str  # dotted key path in the profile
    role: str  # value, status, heartbeat, set_point, date, text, coil, input
    static: bool  # configuration/identity (read rarely) rather than live data


class DetectorProfile(StrictModel):
    """A fixed gas detector's register map."""

    profile: ProfileMeta
    modbus: ModbusSection
    device: DeviceSection = DeviceSection()
    sensor_status_bits: SensorStatusBits = SensorStatusBits()
    gases: Annotated[dict[GasKey, GasChannel], Field(min_length=1, max_length=16)]
    maintenance: Maintenance = Maintenance()
    identification: Identification = Identification()

    @field_validator("gases")
    @classmethod
    def _one_spelling(cls, gases: dict[str, GasChannel]) -> dict[str, GasChannel]:
        for name in gases:
            try:
                known = Gas(name)
            except ValueError:
                continue  # a gas outside the core's vocabulary: reported as named, not judged
            if name != known.value:
                raise ValueError(f"gas {name!r} is spelt {known.value!r} (protocols.gases.Gas)")
        return gases

    @property
    def id(self) -> str:
        return self.profile.id

    def function_of(self, ref: RegisterRef) -> int:
        return ref.function or self.modbus.function

    def spans(self) -> list[Span]:
        out: list[Span] = []

        def add(ref: RegisterRef | None, width: int, key: str, role: str, static: bool) -> None:
            if ref is not None:
                out.append(Span(self.function_of(ref), ref.address, width, key, role, static))

        add(self.device.status, 1, "device.status", "status", False)
        add(self.device.heartbeat, 1, "device.heartbeat", "heartbeat", False)
        for name, gas in self.gases.items():
            key = f"gases.{name}"
            add(gas.value, 1, f"{key}.value", "value", False)
            add(gas.status, 1, f"{key}.status", "status", False)
            add(gas.alarm1, 1, f"{key}.alarm1", "set_point", True)
            add(gas.alarm2, 1, f"{key}.alarm2", "set_point", True)
            for field in ("calibration", "bump_test"):
                ref = getattr(gas, field)
                add(ref, ref.width if ref else 0, f"{key}.{field}", "date", True)
        for field in IDENTITY_FIELDS:
            ref = getattr(self.identification.registers, field)
            add(ref, ref.length if ref else 0, f"identification.registers.{field}", "text", True)
        return out


class OutputChannel(StrictModel):
    """One relay output driven by a coil (function 1 read, 5/15 write)."""

    coil: Address
    kind: Literal["siren", "beacon", "fan", "relay"]
    channel: Annotated[int, Field(strict=True, ge=1, le=64)] | None = None  # which space/zone it serves
    description: Annotated[str, StringConstraints(max_length=200)] = ""


class InputChannel(StrictModel):
    """One digital input read as a discrete input (function 2)."""

    discrete_input: Address
    kind: Literal["acknowledge", "input"]
    inverted: bool = False  # a normally-closed contact: the input reads 0 when active
    description: Annotated[str, StringConstraints(max_length=200)] = ""


class Watchdog(StrictModel):
    """A holding register the gateway rewrites with a changing value; if it stops changing, the module acts."""

    address: Address  # holding register, written with function 6
    timeout_s: Annotated[int, Field(strict=True, ge=1, le=3600)]
    on_expiry: Annotated[tuple[Name, ...], Field(max_length=64)] = ()  # outputs switched on when it expires


class OutputModuleProfile(StrictModel):
    """A siren/beacon/fan output module with local inputs (acknowledge button)."""

    profile: ProfileMeta
    modbus: ModbusSection
    outputs: Annotated[dict[Name, OutputChannel], Field(min_length=1, max_length=64)]
    inputs: Annotated[dict[Name, InputChannel], Field(default_factory=dict, max_length=64)]
    heartbeat: RegisterRef | None = None
    watchdog: Watchdog | None = None
    identification: Identification = Identification()

    @property
    def id(self) -> str:
        return self.profile.id

    def spans(self) -> list[Span]:
        out = [Span(1, ch.coil, 1, f"outputs.{name}.coil", "coil", False) for name, ch in self.outputs.items()]
        out += [Span(2, ch.discrete_input, 1, f"inputs.{name}.discrete_input", "input", False)
                for name, ch in self.inputs.items()]
        if self.heartbeat is not None:
            fn = self.heartbeat.function or self.modbus.function
            out.append(Span(fn, self.heartbeat.address, 1, "heartbeat", "heartbeat", False))
        if self.watchdog is not None:
            # Written, not read: it takes part in the overlap check but not in read plans.
            out.append(Span(3, self.watchdog.address, 1, "watchdog.address", "watchdog", True))
        for field in IDENTITY_FIELDS:
            ref = getattr(self.identification.registers, field)
            if ref is not None:
                fn = ref.function or self.modbus.function
                out.append(Span(fn, ref.address, ref.length, f"identification.registers.{field}", "text", True))
        return out


Profile = DetectorProfile | OutputModuleProfile
