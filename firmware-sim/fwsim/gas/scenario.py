"""Gas scenarios as data: what each detector on a simulated bus sees, second by second.

A scenario is a TOML file (the packaged ones are in ``fwsim/scenarios/``): time series per gas and unit id
(linear interpolation or steps), sensor and device states over intervals (fault, not fitted, warm-up,
calibrating; a hung detector whose heartbeat stops), transport faults over intervals (no reply, garbled CRC,
slow replies), maintenance dates, the detectors' own set-points, and ``[[checks]]``: what a client must read
at given scenario times. The checks make a scenario file its own test: the suite plays every packaged scenario
over a real serial line and compares. Every error is a :class:`safegrid.config.ConfigError` naming the key.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from protocols.errors import ProfileError
from protocols.gasprofile import DetectorProfile, load_profile
from protocols.gasprofile.model import GasKey
from safegrid.config import ConfigError, StrictModel, parse_config

PACKAGE = "fwsim"
SCENARIOS_DIR = "scenarios"
MAX_SCENARIO_CHARS = 256 * 1024
MAX_POINTS = 10_000
UNIT_IDS = range(1, 248)  # Modbus RTU unicast addresses

Seconds = Annotated[float, Field(ge=0, le=10 * 365 * 86400, allow_inf_nan=False)]
Value = Annotated[float, Field(ge=-1e6, le=1e6, allow_inf_nan=False)]
ScenarioName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class Series(StrictModel):
    """A gas concentration over time: ``points`` are ``[seconds, value]`` pairs in time order."""

    interpolation: Literal["linear", "step"] = "linear"
    points: Annotated[tuple[tuple[Seconds, Value], ...], Field(min_length=1, max_length=MAX_POINTS)]

    @field_validator("points")
    @classmethod
    def _in_time_order(cls, points: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        for (t0, _), (t1, _) in itertools.pairwise(points):
            if t1 < t0:
                raise ValueError(f"points must be in time order: {t1} s comes after {t0} s")
        return points


class StateInterval(StrictModel):
    """A sensor (``gas``) or the whole detector (no ``gas``) in a state from ``start_s`` until ``end_s``.

    ``hung`` (device-wide) is a detector whose processor stopped while its Modbus interface still answers: the
    heartbeat register stops moving and nothing else says so.
    """

    status: Literal["fault", "not_fitted", "warmup", "calibrating", "hung"]
    gas: GasKey | None = None
    start_s: Seconds = 0.0
    end_s: Seconds | None = None  # None: until the end of time

    @model_validator(mode="after")
    def _check(self) -> StateInterval:
        if self.gas is None and self.status not in ("fault", "warmup", "hung"):
            raise ValueError(f"a device-wide state is fault, warmup or hung, not {self.status} (name a gas)")
        if self.gas is not None and self.status == "hung":
            raise ValueError("hung is a state of the whole detector (leave out gas)")
        if self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError("end_s must be after start_s")
        return self


class FaultInterval(StrictModel):
    """A transport fault of one unit: no reply, a reply with a bad CRC, or a reply ``delay_s`` late."""

    kind: Literal["comm_loss", "garbled_crc", "slow_replies"]
    start_s: Seconds = 0.0
    end_s: Seconds | None = None
    delay_s: Annotated[float, Field(gt=0, le=60, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _check(self) -> FaultInterval:
        if (self.kind == "slow_replies") != (self.delay_s is not None):
            raise ValueError("delay_s is required for slow_replies and only for it")
        if self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError("end_s must be after start_s")
        return self


class Maintenance(StrictModel):
    """How long before the scenario's start date each sensor was last calibrated and bump-tested."""

    calibrated_days_ago: Annotated[int, Field(strict=True, ge=0, le=20_000)] = 20
    bump_tested_days_ago: Annotated[int, Field(strict=True, ge=0, le=20_000)] = 1


class SetPoints(StrictModel):
    """A detector's own alarm set-points for one gas, in the gas's unit (directions come from the profile)."""

    alarm1: Value | None = None
    alarm2: Value | None = None


class UnitScript(StrictModel):
    """What one unit (or, under ``[all_units]``, every unit) sees. Per-gas tables are keyed by gas name."""

    gases: dict[GasKey, Series] = Field(default_factory=dict)
    t90_s: dict[GasKey, Annotated[float, Field(ge=0, le=3600, allow_inf_nan=False)]] = Field(default_factory=dict)
    noise: dict[GasKey, Annotated[float, Field(ge=0, le=1e4, allow_inf_nan=False)]] = Field(default_factory=dict)
    states: Annotated[tuple[StateInterval, ...], Field(max_length=1000)] = ()
    faults: Annotated[tuple[FaultInterval, ...], Field(max_length=1000)] = ()
    maintenance: Maintenance | None = None


class Check(StrictModel):
    """What a client reading unit ``unit`` at scenario time ``at_s`` must see.

    ``reply = "none"`` means the unit does not answer validly (no reply, or a reply the CRC check rejects).
    With a ``gas``: its ``value`` (± ``tolerance``), ``status`` and the detector's own alarm flags.
    """

    at_s: Seconds
    unit: Annotated[int, Field(strict=True, ge=1, le=247)]
    reply: Literal["ok", "none"] = "ok"
    gas: GasKey | None = None
    value: Value | None = None
    tolerance: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)] = 0.0
    status: Literal["ok", "warmup", "calibrating", "fault", "not_fitted", "over_range", "under_range"] | None = None
    alarm1: bool | None = None
    alarm2: bool | None = None
    calibration_due: bool | None = None  # the device's calibration-due bit

    @model_validator(mode="after")
    def _check(self) -> Check:
        per_gas = ("value", "status", "alarm1", "alarm2")
        if self.gas is None and any(getattr(self, f) is not None for f in per_gas):
            raise ValueError(f"{', '.join(per_gas)} need a gas")
        if self.reply == "none" and (self.gas is not None or self.calibration_due is not None):
            raise ValueError("a check expecting no reply cannot expect values")
        return self


class ScenarioMeta(StrictModel):
    format: Literal[1]
    name: ScenarioName
    description: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    profile: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")] = "generic-4gas"
    duration_s: Annotated[float, Field(gt=0, le=10 * 365 * 86400, allow_inf_nan=False)]
    seed: Annotated[int, Field(strict=True, ge=0, le=2**63 - 1)] = 0
    noise_interval_s: Annotated[float, Field(gt=0, le=3600, allow_inf_nan=False)] = 1.0


class Scenario(StrictModel):
    """A whole scenario file. ``units`` keys are Modbus unit ids written as TOML keys (``[units.1]``)."""

    scenario: ScenarioMeta
    baseline: dict[GasKey, Value] = Field(default_factory=dict)  # the air where no series says otherwise
    setpoints: dict[GasKey, SetPoints] = Field(default_factory=dict)
    all_units: UnitScript = UnitScript()
    units: dict[int, UnitScript] = Field(default_factory=dict)
    checks: Annotated[tuple[Check, ...], Field(max_length=10_000)] = ()

    @field_validator("units", mode="before")
    @classmethod
    def _unit_keys(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        out: dict[int, Any] = {}
        for key, value in data.items():
            text = str(key)
            if not text.isdigit() or int(text) not in UNIT_IDS:
                raise ValueError(f"unit ids are 1..247, not {key!r}")
            out[int(text)] = value
        return out

    @property
    def name(self) -> str:
        return self.scenario.name

    def script(self, unit: int) -> UnitScript:
        """The script of one unit: ``[all_units]`` with ``[units.N]`` on top (its series and settings win,
        its states and faults add to the common ones)."""
        own = self.units.get(unit)
        common = self.all_units
        if own is None:
            return common
        return UnitScript(gases={**common.gases, **own.gases}, t90_s={**common.t90_s, **own.t90_s},
                          noise={**common.noise, **own.noise}, states=common.states + own.states,
                          faults=common.faults + own.faults, maintenance=own.maintenance or common.maintenance)

    def checks_in_order(self) -> tuple[Check, ...]:
        return tuple(sorted(self.checks, key=lambda c: c.at_s))


def _gas_keys(scenario: Scenario) -> list[tuple[str, str]]:
    """(dotted key, gas name) of every place a scenario names a gas."""
    keys = [(f"baseline.{g}", g) for g in scenario.baseline] + [(f"setpoints.{g}", g) for g in scenario.setpoints]
    scripts = [("all_units", scenario.all_units), *((f"units.{u}", s) for u, s in scenario.units.items())]
    for prefix, script in scripts:
        for table in ("gases", "t90_s", "noise"):
            keys += [(f"{prefix}.{table}.{g}", g) for g in getattr(script, table)]
        keys += [(f"{prefix}.states[{i}].gas", s.gas) for i, s in enumerate(script.states) if s.gas]
    keys += [(f"checks[{i}].gas", c.gas) for i, c in enumerate(scenario.checks) if c.gas]
    return keys


def parse_scenario(source: str | Mapping[str, Any], *, origin: str = "<scenario>") -> Scenario:
    """Validate TOML text or a parsed mapping; gas names are checked against the scenario's profile."""
    if isinstance(source, str):
        if len(source) > MAX_SCENARIO_CHARS:
            raise ConfigError(origin, None, f"longer than {MAX_SCENARIO_CHARS} characters")
        try:
            data: Any = tomllib.loads(source)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(origin, None, f"not valid TOML: {exc}") from None
    else:
        data = dict(source)
    if not isinstance(data, dict):
        raise ConfigError(origin, None, "a scenario is a table of keys")
    scenario = parse_config(data, Scenario, path=origin)
    profile = scenario_profile(scenario, origin=origin)
    for key, gas in _gas_keys(scenario):
        if gas not in profile.gases:
            raise ConfigError(origin, key, f"no gas {gas!r} in profile {profile.id} (has {sorted(profile.gases)})")
    return scenario


def scenario_profile(scenario: Scenario, *, origin: str = "<scenario>") -> DetectorProfile:
    """The packaged detector profile the scenario is written for."""
    try:
        profile = load_profile(scenario.scenario.profile)
    except ProfileError as exc:
        raise ConfigError(origin, "scenario.profile", str(exc)) from None
    if not isinstance(profile, DetectorProfile):
        raise ConfigError(origin, "scenario.profile", f"{profile.id} is not a gas-detector profile")
    return profile


def packaged_scenarios() -> list[str]:
    """Names of the scenarios shipped with the simulators, sorted."""
    folder = resources.files(PACKAGE).joinpath(SCENARIOS_DIR)
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def scenario_text(name: str) -> str:
    if name not in packaged_scenarios():
        raise ConfigError(f"{name}.toml", None, f"no packaged scenario {name!r}; have {packaged_scenarios()}")
    return resources.files(PACKAGE).joinpath(SCENARIOS_DIR, f"{name}.toml").read_text(encoding="utf-8")


def load_scenario(name: str) -> Scenario:
    """A packaged scenario by name (``clean_air``, ``h2s_spike``, ...)."""
    scenario = parse_scenario(scenario_text(name), origin=f"{name}.toml")
    if scenario.name != name:
        raise ConfigError(f"{name}.toml", "scenario.name", f"{scenario.name!r} differs from the file name")
    return scenario
