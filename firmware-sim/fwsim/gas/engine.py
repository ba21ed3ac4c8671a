"""The scenario engine, pure: given a scenario and a time, what each simulated detector shows and how its
transport misbehaves. No clock is read here; the caller passes scenario time (seconds since the start) in.

For each unit and gas a first-order sensor follows the scenario's series (or the baseline), seeded noise is
added, and the result is turned into a :class:`DetectorSnapshot` that :func:`protocols.gasprofile.encode_detector`
turns into registers: status bits for sensor/device faults, warm-up and calibrating, the detector's own alarm
flags against its set-points, calibration-due from the maintenance dates, a heartbeat counting seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal

from fwsim.gas.dynamics import FirstOrderSensor, GasSeries, noise_at
from fwsim.gas.scenario import FaultInterval, Maintenance, Scenario, StateInterval, UnitScript, scenario_profile
from protocols.gasprofile import (
    DetectorProfile,
    DetectorSnapshot,
    DeviceIdentity,
    DeviceStatus,
    GasReading,
    GasSettings,
    Image,
    ReadingStatus,
    SetPoint,
    classify,
    encode_detector,
)
from protocols.gasprofile.model import GasChannel

# Clean air (GB 8958 treats 19.5-23.5 %VOL O2 as safe; fresh air is 20.9).
CLEAN_AIR = {"O2": 20.9, "LEL": 0.0, "H2S": 0.0, "CO": 0.0}
# Typical fixed-detector response times, seconds to 90 % of a step.
DEFAULT_T90_S = {"O2": 15.0, "LEL": 20.0, "H2S": 30.0, "CO": 25.0}
# Typical reading noise (standard deviation, in the gas's unit); less than one register step is invisible.
DEFAULT_NOISE = {"O2": 0.03, "LEL": 0.1, "H2S": 0.05, "CO": 0.4}
# The detector's own set-points, kept within China's limits: O2 19.5 / 23.5 %VOL (GB 8958); flammable 10 / 20 %LEL;
# H2S and CO at 100 % / 200 % of the OEL (GB/T 50493-2019): H2S 10 / 20 mg/m³ ≈ 7 / 14 ppm, CO 20 / 40 mg/m³ ≈
# 17 / 34 ppm at 20 °C.
DEFAULT_SETPOINTS = {"O2": (19.5, 23.5), "LEL": (10.0, 20.0), "H2S": (7.0, 14.0), "CO": (17.0, 34.0)}
DEFAULT_T90_OTHER_S = 30.0

FaultKind = Literal["comm_loss", "garbled_crc", "slow_replies"]
_FAULT_PRIORITY = {"comm_loss": 0, "garbled_crc": 1, "slow_replies": 2}


@dataclass(frozen=True, slots=True)
class Fault:
    """A transport fault in force: ``delay_s`` only for slow replies."""

    kind: FaultKind
    delay_s: float = 0.0


def _active(interval: StateInterval | FaultInterval, t: float) -> bool:
    return interval.start_s <= t and (interval.end_s is None or t < interval.end_s)


def sim_identity(unit: int) -> DeviceIdentity:
    """The identification every simulated detector gives: stable per unit id, so a log line names its source."""
    return DeviceIdentity(vendor="SafeGrid Sim", model="GD4-SIM", serial=f"SGSIM-{unit:03d}", firmware="1.0.0")


class _UnitState:
    """One detector: its script and one sensor per gas."""

    def __init__(self, scenario: Scenario, profile: DetectorProfile, unit: int, script: UnitScript) -> None:
        self.unit = unit
        self.script = script
        self.sensors: dict[str, FirstOrderSensor] = {}
        self.noise: dict[str, float] = {}
        for name in profile.gases:
            spec = script.gases.get(name)
            if spec is not None:
                series = GasSeries(spec.points, spec.interpolation)
            else:
                series = GasSeries.constant(scenario.baseline.get(name, CLEAN_AIR.get(name, 0.0)))
            t90 = script.t90_s.get(name, DEFAULT_T90_S.get(name, DEFAULT_T90_OTHER_S))
            self.sensors[name] = FirstOrderSensor(series, t90)
            self.noise[name] = script.noise.get(name, DEFAULT_NOISE.get(name, 0.0))


class ScenarioEngine:
    """Scenario time → detector snapshots, register images and transport faults, per unit.

    ``advance_to(t)`` moves every sensor forward to ``t`` (time never goes backwards); ``snapshot(unit)``,
    ``image(unit)`` and ``fault(unit)`` describe that moment. ``start_date`` is the calendar day at time 0:
    maintenance dates count back from it, and the day advances with scenario time.
    """

    def __init__(self, scenario: Scenario, units: Iterable[int], *, start_date: date, seed: int | None = None,
                 profile: DetectorProfile | None = None) -> None:
        self.scenario = scenario
        self.profile = profile or scenario_profile(scenario)
        self.start_date = start_date
        self.seed = scenario.scenario.seed if seed is None else seed
        self.units = tuple(sorted(set(units)))
        if not self.units or any(not 1 <= u <= 247 for u in self.units):
            raise ValueError(f"unit ids are 1..247, got {self.units}")
        self._state = {u: _UnitState(scenario, self.profile, u, scenario.script(u)) for u in self.units}
        self.now = 0.0
        self._snapshots: dict[int, DetectorSnapshot] = {}
        self._images: dict[int, Image] = {}
        self._static_images: dict[int, Image] = {}
        self._settings = {u: self._gas_settings(self._state[u].script) for u in self.units}

    # -- time ---------------------------------------------------------------------------------------------
    def advance_to(self, t: float) -> None:
        """Move to scenario time ``t`` seconds; raises ``ValueError`` if ``t`` is before the current time."""
        if t < self.now:
            raise ValueError(f"scenario time went backwards: {t} < {self.now}")
        if t == self.now and self._snapshots:
            return
        for state in self._state.values():
            for sensor in state.sensors.values():
                sensor.advance_to(t)
        self.now = t
        self._snapshots.clear()
        self._images.clear()

    @property
    def today(self) -> date:
        return self.start_date + timedelta(seconds=self.now)

    # -- what a unit shows -------------------------------------------------------------------------------
    def sensor_value(self, unit: int, gas: str) -> float:
        """The sensor's noiseless reading now (the first-order response to the scenario's series)."""
        return self._state[unit].sensors[gas].y

    def snapshot(self, unit: int) -> DetectorSnapshot:
        if unit not in self._snapshots:
            self._snapshots[unit] = self._snapshot(unit)
        return self._snapshots[unit]

    def image(self, unit: int) -> Image:
        """Registers (function → address → word) the unit serves now."""
        if unit not in self._images:
            snapshot = self.snapshot(unit)
            if unit not in self._static_images:
                # Set-points, maintenance dates and identification do not change during a run: encode them once.
                self._static_images[unit] = encode_detector(self.profile, snapshot)
            image = {function: dict(table) for function, table in self._static_images[unit].items()}
            for function, table in encode_detector(self.profile, replace(snapshot, settings=None,
                                                                         identity=None)).items():
                image.setdefault(function, {}).update(table)
            self._images[unit] = image
        return self._images[unit]

    def fault(self, unit: int) -> Fault | None:
        """The transport fault in force for ``unit`` now, the worst first: no reply, bad CRC, slow reply."""
        if unit not in self._state:
            return None
        active = [f for f in self._state[unit].script.faults if _active(f, self.now)]
        if not active:
            return None
        worst = min(active, key=lambda f: _FAULT_PRIORITY[f.kind])
        delay = max((f.delay_s or 0.0 for f in active if f.kind == "slow_replies"), default=0.0)
        return Fault(worst.kind, delay if worst.kind == "slow_replies" else 0.0)

    # -- building blocks ---------------------------------------------------------------------------------
    def _states(self, unit: int) -> list[StateInterval]:
        return [s for s in self._state[unit].script.states if _active(s, self.now)]

    def _calibration_due(self, settings: Sequence[GasSettings]) -> dict[str, bool]:
        return {s.gas: s.calibration_due_on is not None and self.today >= s.calibration_due_on for s in settings}

    def _snapshot(self, unit: int) -> DetectorSnapshot:
        states = self._states(unit)
        device_fault = any(s.gas is None and s.status == "fault" for s in states)
        device_warmup = any(s.gas is None and s.status == "warmup" for s in states)
        settings = self._settings[unit]
        due = self._calibration_due(settings)
        device = DeviceStatus(fault=device_fault, warmup=device_warmup, calibration_due=any(due.values()))
        tick = int(self.now // self.scenario.scenario.noise_interval_s)
        readings = []
        for name, gas in self.profile.gases.items():
            gas_states = {s.status for s in states if s.gas == name}
            value = self.sensor_value(unit, name) + noise_at(self.seed, unit, name, tick, self._state[unit].noise[name])
            readings.append(self._reading(name, gas, value, gas_states, device, due[name], settings))
        # A hung detector's heartbeat stays where it was when it hung; its registers keep answering.
        hung = min((s.start_s for s in states if s.gas is None and s.status == "hung"), default=None)
        heartbeat = int(self.now if hung is None else hung) & 0xFFFF
        return DetectorSnapshot(profile=self.profile.id, status=device, heartbeat=heartbeat,
                                readings=tuple(readings), settings=tuple(settings), identity=sim_identity(unit))

    def _reading(self, name: str, gas: GasChannel, value: float, states: AbstractSet[str], device: DeviceStatus,
                 calibration_due: bool, settings: Sequence[GasSettings]) -> GasReading:
        def no_value(status: ReadingStatus) -> GasReading:
            return GasReading(gas=name, unit=gas.unit, value=None, status=status, calibration_due=calibration_due)

        if "not_fitted" in states and any(s.status == "not_fitted" for s in gas.sentinels):
            return no_value(ReadingStatus.NOT_FITTED)
        if "fault" in states or "not_fitted" in states or device.fault:
            return no_value(ReadingStatus.FAULT)
        word = self._word(gas, value)
        warmup = "warmup" in states or device.warmup
        shown, status = classify(gas, word, fault=False, warmup=warmup, calibrating="calibrating" in states)
        alarm1 = alarm2 = False
        if status in (ReadingStatus.OK, ReadingStatus.OVER_RANGE, ReadingStatus.UNDER_RANGE):
            own = next(s for s in settings if s.gas == name)
            alarm1 = _beyond(shown, status, own.alarm1)
            alarm2 = _beyond(shown, status, own.alarm2)
        return GasReading(gas=name, unit=gas.unit, value=shown, status=status, alarm1=alarm1, alarm2=alarm2,
                          calibration_due=calibration_due)

    @staticmethod
    def _word(gas: GasChannel, value: float) -> int:
        """The value register's word for ``value``. Beyond what the register type holds it is the over/under-range
        sentinel if the profile has one, else the type's limit; :func:`classify` then says what the word means."""
        raw = round(value * gas.scale)
        low, high = gas.type_limits
        if low <= raw <= high:
            return raw & 0xFFFF
        status = "over_range" if raw > high else "under_range"
        sentinel = next((s.word for s in gas.sentinels if s.status == status), None)
        return sentinel if sentinel is not None else (high if raw > high else low) & 0xFFFF

    def _gas_settings(self, script: UnitScript) -> list[GasSettings]:
        maintenance = script.maintenance or Maintenance()
        calibrated = self.start_date - timedelta(days=maintenance.calibrated_days_ago)
        bumped = self.start_date - timedelta(days=maintenance.bump_tested_days_ago)
        intervals = self.profile.maintenance
        out = []
        for name, gas in self.profile.gases.items():
            own = self.scenario.setpoints.get(name)
            default = DEFAULT_SETPOINTS.get(name, (None, None))
            points = []
            for i, ref in enumerate((gas.alarm1, gas.alarm2)):
                value = getattr(own, f"alarm{i + 1}") if own is not None else None
                value = default[i] if value is None else value
                points.append(SetPoint(value, ref.direction) if ref is not None and value is not None else None)

            def dates(ref: object, done: date, interval: int | None) -> tuple[date | None, date | None]:
                if ref is None:
                    return None, None
                if getattr(ref, "meaning", "last") == "due":
                    return None, done + timedelta(days=interval or 0)
                return done, done + timedelta(days=interval) if interval else None

            cal_on, cal_due = dates(gas.calibration, calibrated, intervals.calibration_interval_days)
            bump_on, bump_due = dates(gas.bump_test, bumped, intervals.bump_interval_days)
            out.append(GasSettings(gas=name, unit=gas.unit, alarm1=points[0], alarm2=points[1], calibrated_on=cal_on,
                                   calibration_due_on=cal_due, bump_tested_on=bump_on, bump_due_on=bump_due))
        return out


def _beyond(value: float | None, status: ReadingStatus, point: SetPoint | None) -> bool:
    """Whether the detector's own alarm at ``point`` is on for this reading (a sentinel over-range is beyond any
    rising set-point)."""
    if point is None:
        return False
    if value is None:
        return status == ReadingStatus.OVER_RANGE and point.direction == "rising"
    return value <= point.value if point.direction == "falling" else value >= point.value


