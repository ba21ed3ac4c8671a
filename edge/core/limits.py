"""Gas limits native to China's rules, kept in their own units, with per-space overrides that are never silently looser.

Each default cites its source beside it. Toxic gases are kept in mg/m³ (as GBZ 2.1 states them) and a detector's
ppm is converted at the measured or configured temperature; oxygen is kept in %VOL and flammable gas in %LEL.
These figures must be checked against the current standards before being relied on for compliance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from edge.core.errors import CoreError
from protocols.gases import Gas as Gas  # re-exported: the one spelling of gas names (profiles, core, records)


class Unit(StrEnum):
    """Units a detector may report in, and the units the limits are kept in."""

    PCT_VOL = "%VOL"
    PCT_LEL = "%LEL"
    PPM = "ppm"
    MG_M3 = "mg/m3"


class LimitError(CoreError, ValueError):
    """A limit or override that cannot be accepted (looser than the default without the flag, inconsistent, …).

    Still a ``ValueError`` too: configuration validators raise it where pydantic expects one."""

    default_code = "bad_limit"


@dataclass(frozen=True, slots=True)
class Band:
    """The acceptable range of a value: ``low <= v < high``.

    An upper set-point trips when the value *reaches* it (as detectors do); a lower one when the value falls below.
    ``None`` means no bound on that side.
    """

    low: float | None = None
    high: float | None = None

    def contains(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value < self.high)

    def looser_than(self, other: Band) -> bool:
        """True when this band accepts some value that ``other`` rejects."""
        low_looser = other.low is not None and (self.low is None or self.low < other.low)
        high_looser = other.high is not None and (self.high is None or self.high > other.high)
        return low_looser or high_looser

    def within(self, other: Band) -> bool:
        """True when every value this band accepts, ``other`` accepts too."""
        return not self.looser_than(other)

    def distance_inside(self, value: float) -> float:
        """How far ``value`` is inside the band from its nearer bound (negative when outside)."""
        gaps = [value - self.low] if self.low is not None else []
        if self.high is not None:
            gaps.append(self.high - value)
        return min(gaps) if gaps else float("inf")

    def __str__(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low:g}–{self.high:g}"
        if self.high is not None:
            return f"< {self.high:g}"
        return f"≥ {self.low:g}" if self.low is not None else "any"


@dataclass(frozen=True, slots=True)
class GasLimit:
    """The limits of one gas in one space, in ``unit``.

    ``level1`` is the range for entry and work (leaving it suspends the permit); ``level2`` is the wider range whose
    breach is the urgent alarm that cannot be acknowledged while it lasts. ``stel`` is the 15-minute and ``twa``
    the 8-hour time-weighted average limit (``None`` when the standard sets none). ``deadband`` is the hysteresis
    an alarm needs before it clears, so it does not chatter around a set-point.
    """

    gas: Gas
    unit: Unit
    level1: Band
    level2: Band
    stel: float | None
    twa: float | None
    deadband: float
    source: str
    looser_than_default: bool = False

    def __post_init__(self) -> None:
        if not self.level1.within(self.level2):
            raise LimitError(f"{self.gas}: level-1 range {self.level1} must lie inside level-2 range {self.level2}")
        if self.deadband < 0:
            raise LimitError(f"{self.gas}: deadband must not be negative")
        for name in ("stel", "twa"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise LimitError(f"{self.gas}: {name} must be positive")


DEFAULT_LIMITS: Mapping[Gas, GasLimit] = {
    Gas.O2: GasLimit(
        Gas.O2,
        Unit.PCT_VOL,
        # GB 8958 (缺氧危险作业安全规程): 19.5–23.5 %VOL is the safe range for entry. Oxygen outside it is
        # immediately dangerous, so both levels use it: an O2 breach is always the level-2 (evacuate) alarm.
        level1=Band(19.5, 23.5),
        level2=Band(19.5, 23.5),
        stel=None,
        twa=None,
        deadband=0.2,  # engineering choice, not a rule: about the accuracy of an electrochemical O2 cell
        source="GB 8958",
    ),
    Gas.FLAMMABLE: GasLimit(
        Gas.FLAMMABLE,
        Unit.PCT_LEL,
        # Below 10 % LEL for entry: common practice in permit templates; GB 30871 for hazardous-chemical sites
        # (0.5 %VOL for a gas whose LEL ≥ 4 %).
        level1=Band(high=10.0),
        # GB/T 50493-2019: a fixed flammable-gas detector's first alarm is set at ≤ 25 % LEL.
        level2=Band(high=25.0),
        stel=None,
        twa=None,
        deadband=1.0,  # engineering choice: about the resolution of a catalytic or IR LEL sensor
        source="permit templates / GB 30871 (entry); GB/T 50493-2019 (level 2)",
    ),
    Gas.H2S: GasLimit(
        Gas.H2S,
        Unit.MG_M3,
        # GBZ 2.1-2019: H2S MAC 10 mg/m³ (≈7 ppm at 20 °C; looser vendor ppm defaults do not apply).
        # GB/T 50493-2019: level 1 ≤ 100 % of the OEL (10 mg/m³), level 2 ≤ 200 % (20 mg/m³).
        level1=Band(high=10.0),
        level2=Band(high=20.0),
        stel=None,  # GBZ 2.1-2019 gives H2S a MAC (ceiling) only, no PC-STEL / PC-TWA
        twa=None,
        deadband=1.0,  # engineering choice
        source="GBZ 2.1-2019 (MAC); GB/T 50493-2019 (set-points)",
    ),
    Gas.CO: GasLimit(
        Gas.CO,
        Unit.MG_M3,
        # GB/T 50493-2019: level 1 ≤ 100 % of the OEL (PC-TWA 20 mg/m³), level 2 ≤ 200 % (40 mg/m³).
        level1=Band(high=20.0),
        level2=Band(high=40.0),
        stel=30.0,  # GBZ 2.1-2019: CO PC-STEL 30 mg/m³ (non-plateau)
        twa=20.0,  # GBZ 2.1-2019: CO PC-TWA 20 mg/m³ (non-plateau)
        deadband=2.0,  # engineering choice
        source="GBZ 2.1-2019 (PC-TWA / PC-STEL); GB/T 50493-2019 (set-points)",
    ),
}

# Molar masses (g/mol) of the toxic gases kept in mg/m³, for the ppm conversion.
MOLAR_MASS: Mapping[Gas, float] = {Gas.H2S: 34.08, Gas.CO: 28.01}


@dataclass(frozen=True, slots=True)
class Conditions:
    """Air temperature and pressure for ppm ↔ mg/m³; the default is the reference 20 °C, 101.325 kPa."""

    temperature_c: float = 20.0
    pressure_kpa: float = 101.325

    def __post_init__(self) -> None:
        if not (-60.0 <= self.temperature_c <= 100.0) or not (50.0 <= self.pressure_kpa <= 150.0):
            raise LimitError(f"implausible conditions {self.temperature_c} °C, {self.pressure_kpa} kPa")

    def molar_volume(self) -> float:
        """Litres per mole of an ideal gas: 22.414 × T/273.15 × 101.325/P (24.06 at 20 °C, 101.325 kPa)."""
        return 22.414 * (self.temperature_c + 273.15) / 273.15 * 101.325 / self.pressure_kpa


def ppm_to_mg_m3(ppm: float, gas: Gas, conditions: Conditions = Conditions()) -> float:
    """mg/m³ = ppm × M / molar volume."""
    return ppm * _molar_mass(gas) / conditions.molar_volume()


def mg_m3_to_ppm(mg_m3: float, gas: Gas, conditions: Conditions = Conditions()) -> float:
    """ppm = mg/m³ × molar volume / M."""
    return mg_m3 * conditions.molar_volume() / _molar_mass(gas)


def _molar_mass(gas: Gas) -> float:
    try:
        return MOLAR_MASS[gas]
    except KeyError:
        raise LimitError(f"{gas} has no molar mass for a ppm ↔ mg/m³ conversion") from None


def to_limit_unit(
    value: float,
    unit: Unit,
    limit: GasLimit,
    conditions: Conditions = Conditions(),
    lel_pct_vol: float | None = None,
) -> float:
    """Convert a detector's ``value`` in ``unit`` into the unit ``limit`` is kept in.

    ``lel_pct_vol`` (the LEL of the space's flammable gas in %VOL, e.g. 5.0 for methane) is needed only for a
    flammable-gas detector that reports %VOL. Raises :class:`LimitError` when no conversion applies.
    """
    if unit == limit.unit:
        return value
    if limit.unit == Unit.MG_M3 and unit == Unit.PPM:
        return ppm_to_mg_m3(value, limit.gas, conditions)
    if limit.unit == Unit.PCT_LEL and unit == Unit.PCT_VOL and lel_pct_vol:
        return value / lel_pct_vol * 100.0
    if limit.unit == Unit.PCT_VOL and unit == Unit.PPM:
        return value / 10_000.0
    raise LimitError(f"{limit.gas}: cannot convert {unit} to {limit.unit}")


@dataclass(frozen=True, slots=True)
class LimitOverride:
    """A space's own limits for one gas; fields left ``None`` keep the default.

    An override looser than the default is refused unless ``allow_looser`` is set with a ``reason``.
    """

    level1: Band | None = None
    level2: Band | None = None
    stel: float | None = None
    twa: float | None = None
    deadband: float | None = None
    allow_looser: bool = False
    reason: str = ""


def _looser_fields(limit: GasLimit, default: GasLimit) -> list[str]:
    looser = [name for name in ("level1", "level2") if getattr(limit, name).looser_than(getattr(default, name))]
    looser += [
        name
        for name in ("stel", "twa")
        if getattr(default, name) is not None and (getattr(limit, name) or 0) > getattr(default, name)
    ]
    return looser


def apply_override(default: GasLimit, override: LimitOverride) -> GasLimit:
    """The default with ``override`` applied; raises :class:`LimitError` if it is looser and not flagged."""
    changes = {
        name: getattr(override, name)
        for name in ("level1", "level2", "stel", "twa", "deadband")
        if getattr(override, name) is not None
    }
    limit = replace(default, **changes, source=f"{default.source}; space override {override.reason}".rstrip())
    looser = _looser_fields(limit, default)
    if looser and not (override.allow_looser and override.reason.strip()):
        raise LimitError(
            f"{default.gas}: override of {', '.join(looser)} is looser than the default ({default.source}); "
            "set allow_looser with a reason to accept it"
        )
    return replace(limit, looser_than_default=bool(looser))


def space_limits(
    gases: Iterable[Gas] = tuple(Gas),
    overrides: Mapping[Gas, LimitOverride] | None = None,
    defaults: Mapping[Gas, GasLimit] = DEFAULT_LIMITS,
) -> dict[Gas, GasLimit]:
    """The limits of a space monitored for ``gases``, with its overrides applied."""
    overrides = overrides or {}
    unknown = set(overrides) - set(gases)
    if unknown:
        raise LimitError(f"override for a gas the space is not monitored for: {', '.join(sorted(unknown))}")
    return {gas: apply_override(defaults[gas], overrides[gas]) if gas in overrides else defaults[gas] for gas in gases}


@dataclass(frozen=True, slots=True)
class DetectorSetpoints:
    """A detector's own alarm set-points as configured in the device, in its own ``unit``."""

    detector: str
    gas: Gas
    unit: Unit
    level1: Band
    level2: Band


@dataclass(frozen=True, slots=True)
class ConfigWarning:
    """A configuration a human should look at; ``message`` says why."""

    detector: str
    gas: Gas
    message: str


def _convert_band(band: Band, unit: Unit, limit: GasLimit, conditions: Conditions, lel: float | None) -> Band:
    def conv(v: float | None) -> float | None:
        return None if v is None else to_limit_unit(v, unit, limit, conditions, lel)

    return Band(conv(band.low), conv(band.high))


def check_detector_setpoints(
    setpoints: DetectorSetpoints,
    limits: Mapping[Gas, GasLimit],
    conditions: Conditions = Conditions(),
    lel_pct_vol: float | None = None,
) -> list[ConfigWarning]:
    """Warn when a detector's own set-points are looser than the space's configured limits.

    The detector then stays silent where the gateway alarms — local sound at the detector must not be the weaker
    signal. Set-points in ppm are converted at ``conditions``.
    """
    limit = limits.get(setpoints.gas)
    if limit is None:
        return [ConfigWarning(setpoints.detector, setpoints.gas, f"{setpoints.gas} is not configured for the space")]
    warnings = []
    for name in ("level1", "level2"):
        theirs = _convert_band(getattr(setpoints, name), setpoints.unit, limit, conditions, lel_pct_vol)
        ours: Band = getattr(limit, name)
        if theirs.looser_than(ours):
            warnings.append(
                ConfigWarning(
                    setpoints.detector,
                    setpoints.gas,
                    f"detector {setpoints.detector} {name} set-point {getattr(setpoints, name)} {setpoints.unit} "
                    f"(= {theirs} {limit.unit} at {conditions.temperature_c:g} °C) is looser than the configured "
                    f"{ours} {limit.unit} ({limit.source})",
                )
            )
    return warnings
