"""Typed results of decoding detector and output-module registers.

A reading always carries a status: a fault, a sensor that is not fitted, warm-up or a value beyond the measuring
range is said so, never passed on as a plausible number. Units stay the detector's own; converting ppm to mg/m³
and judging values against limits is the edge safety core's job, not this package's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Literal


class ReadingStatus(StrEnum):
    OK = "ok"
    WARMUP = "warmup"  # value present but not yet trustworthy
    CALIBRATING = "calibrating"  # value present but it is test gas, not the space's air
    FAULT = "fault"  # sensor or detector fault: no value
    NOT_FITTED = "not_fitted"  # no sensor in this position: no value
    OVER_RANGE = "over_range"  # above the measuring range: the true value is at least range high
    UNDER_RANGE = "under_range"  # below range low by more than the zero band


@dataclass(frozen=True, slots=True)
class GasReading:
    """One sensor's reading. ``value`` is ``None`` for fault, not fitted, or a range sentinel word."""

    gas: str
    unit: str
    value: float | None
    status: ReadingStatus
    alarm1: bool = False  # the detector's own alarm flags, from its status word
    alarm2: bool = False
    calibration_due: bool = False


@dataclass(frozen=True, slots=True)
class SetPoint:
    """A detector's own alarm set-point in the gas's unit; ``falling`` means it alarms below the value."""

    value: float
    direction: Literal["rising", "falling"]


@dataclass(frozen=True, slots=True)
class GasSettings:
    """What a detector says about one sensor's configuration and maintenance (read rarely)."""

    gas: str
    unit: str
    alarm1: SetPoint | None = None
    alarm2: SetPoint | None = None
    calibrated_on: date | None = None
    calibration_due_on: date | None = None
    bump_tested_on: date | None = None
    bump_due_on: date | None = None


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    fault: bool = False
    warmup: bool = False
    calibration_due: bool = False


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None


@dataclass(frozen=True, slots=True)
class DetectorSnapshot:
    """Everything one poll of a detector yields. ``settings``/``identity`` are ``None`` when not read."""

    profile: str
    status: DeviceStatus
    heartbeat: int | None
    readings: tuple[GasReading, ...]
    settings: tuple[GasSettings, ...] | None = None
    identity: DeviceIdentity | None = None

    def reading(self, gas: str) -> GasReading:
        for r in self.readings:
            if r.gas == gas:
                return r
        raise KeyError(gas)

    @property
    def calibration_due_on(self) -> date | None:
        """The earliest calibration due date over all sensors, if known."""
        return min((s.calibration_due_on for s in self.settings or () if s.calibration_due_on), default=None)

    @property
    def bump_due_on(self) -> date | None:
        return min((s.bump_due_on for s in self.settings or () if s.bump_due_on), default=None)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (dates as ISO strings), as used in the test vectors."""
        return {k: _jsonable(v) for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class OutputModuleState:
    """The coils (outputs) and discrete inputs of an output module, by the names in its profile."""

    profile: str
    outputs: dict[str, bool]
    inputs: dict[str, bool] = field(default_factory=dict)
    heartbeat: int | None = None
    identity: DeviceIdentity | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in asdict(self).items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return value
