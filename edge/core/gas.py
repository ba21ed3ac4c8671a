"""Gas evaluation for one confined space: alarm levels with hysteresis, STEL/TWA, staleness, in-range time, trend.

The drivers turn detector registers into :class:`Reading` values; :class:`GasMonitor` keeps the per-gas history
and :meth:`GasMonitor.evaluate` returns a :class:`GasState` saying, for every gas, its level and why. A reading
that is missing, late or faulty is never taken as "safe". All times are monotonic seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from edge.core.exposure import STEL_WINDOW_S, TWA_WINDOW_S, ExposureWindow
from edge.core.limits import Band, Conditions, Gas, GasLimit, LimitError, Unit, to_limit_unit
from edge.core.trend import TrendWindow


class ReadingStatus(StrEnum):
    """What the detector (or the driver polling it) says about a reading."""

    OK = "ok"
    OVER_RANGE = "over_range"  # at or beyond full scale: the true value is at least this high
    WARMUP = "warmup"
    CALIBRATING = "calibrating"
    FAULT = "fault"  # the detector's own status or heartbeat says fault
    COMM_LOSS = "comm_loss"  # the driver failed N polls in a row


VALID_STATUSES = frozenset({ReadingStatus.OK, ReadingStatus.OVER_RANGE})


class Reading(NamedTuple):
    """One gas reading as polled; ``at`` is monotonic seconds, ``temperature_c`` the measured air temperature.

    A named tuple rather than a frozen dataclass: just as immutable, and several times cheaper to build, which
    matters because one is built for every gas of every poll.
    """

    gas: Gas
    value: float
    unit: Unit
    at: float
    status: ReadingStatus = ReadingStatus.OK
    detector: str = ""
    temperature_c: float | None = None


class Level(StrEnum):
    """The state of one gas; the first three are ordered by severity."""

    NORMAL = "normal"
    LEVEL1 = "level1"
    LEVEL2 = "level2"
    FAULT = "fault"
    STALE = "stale"
    PENDING = "pending"  # no reading yet since the monitor started, still within the stale grace


_RANK = {Level.NORMAL: 0, Level.LEVEL1: 1, Level.LEVEL2: 2}


@dataclass(frozen=True, slots=True)
class GasMonitorConfig:
    """Tuning of a space's monitor. Defaults are engineering choices, not rules."""

    poll_interval_s: float = 1.0
    stale_after_polls: int = 3  # no reading for more than this many poll intervals ⇒ stale
    trend_window_s: float = 120.0  # the trend is a least-squares slope over this window
    trend_horizon_s: float = 600.0  # "rising" = projected to reach the level-1 set-point within this time
    # A trend must be one that sensor noise cannot make: the samples span at least this long, the fitted line
    # moves toward the set-point by at least the gas's deadband over that span (the deadband is several times
    # a sensor's noise, see limits.py), and a gas that rises toward an upper limit is above its deadband — noise
    # around zero is not a rise. Measured with ``scripts/bench trend``: no false trend in clean air.
    trend_min_span_s: float = 30.0
    stel_bucket_s: float = 10.0
    twa_bucket_s: float = 60.0
    conditions: Conditions = field(default_factory=Conditions)
    lel_pct_vol: float | None = None  # LEL of the space's flammable gas, for a detector reporting %VOL

    @property
    def stale_after_s(self) -> float:
        return self.stale_after_polls * self.poll_interval_s


class GasReport(NamedTuple):
    """One gas at one instant.

    ``level`` is what the space shows now; ``gas_level`` is the alarm level of the last valid reading, held
    through a fault or a gap because an unknown concentration is not a safe one. (An immutable named tuple, like
    :class:`Reading`: one is built for every gas on every evaluation.)
    """

    gas: Gas
    level: Level
    gas_level: Level
    detector: str
    value: float | None
    unit: Unit
    stel: float | None
    twa: float | None
    stel_exceeded: bool
    twa_exceeded: bool
    fault: ReadingStatus | None
    in_range_since: float | None
    rising: bool
    reasons: tuple[str, ...]
    limit: GasLimit  # the limits the levels were judged against (alarm texts name them)
    over_range: bool  # the last valid reading was at or beyond full scale
    condition: str  # why the gas has no valid reading now (stale, fault, no reading yet); "" when it has one


@dataclass(frozen=True, slots=True)
class GasState:
    """Every monitored gas of one space at ``at`` (monotonic seconds)."""

    space: str
    at: float
    gases: Mapping[Gas, GasReport]

    @property
    def in_range_since(self) -> float | None:
        """Since when every gas has been in range without a break (``None`` if one is not in range now)."""
        starts = [r.in_range_since for r in self.gases.values()]
        if not starts or any(s is None for s in starts):
            return None
        return max(s for s in starts if s is not None)

    def in_range_for(self, seconds: float) -> bool:
        """True when every gas has been in range for at least ``seconds`` up to now."""
        since = self.in_range_since
        return since is not None and self.at - since >= seconds

    @property
    def all_in_range(self) -> bool:
        return self.in_range_since is not None

    @property
    def rising(self) -> bool:
        return any(r.rising for r in self.gases.values())

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(reason for r in self.gases.values() for reason in r.reasons)


def next_level(limit: GasLimit, current: Level, value: float) -> Level:
    """The alarm level after ``value``: escalate at once, de-escalate only past the deadband (no chatter)."""
    if current is Level.NORMAL and limit.level1.contains(value):
        return Level.NORMAL  # the common case, decided early: level 1 lies within level 2 (GasLimit checks it)
    raw = _band_level(limit.level1, limit.level2, value)
    if _RANK[raw] >= _RANK[current]:
        return raw
    db = limit.deadband
    held = _band_level(_shrink(limit.level1, db), _shrink(limit.level2, db), value)  # never below ``raw``
    return held if _RANK[held] < _RANK[current] else current


def _band_level(level1: Band, level2: Band, value: float) -> Level:
    if not level2.contains(value):
        return Level.LEVEL2
    return Level.LEVEL1 if not level1.contains(value) else Level.NORMAL


def _shrink(band: Band, by: float) -> Band:
    return Band(None if band.low is None else band.low + by, None if band.high is None else band.high - by)


@dataclass(slots=True)
class _Track:
    """Everything remembered about one gas of the space."""

    limit: GasLimit
    stel: ExposureWindow | None
    twa: ExposureWindow | None
    trend: TrendWindow
    name: str  # the gas as reasons name it
    gas_level: Level = Level.NORMAL
    value: float | None = None
    last_at: float | None = None  # last reading of any status
    last_valid_at: float | None = None
    status: ReadingStatus | None = None
    detector: str = ""
    in_range_since: float | None = None
    note: str = ""  # why the last reading was not usable, when it was not


class GasMonitor:
    """The gas evaluation of one space: feed it readings, ask it for a :class:`GasState`."""

    def __init__(
        self, space: str, limits: Mapping[Gas, GasLimit], started_at: float, config: GasMonitorConfig | None = None
    ) -> None:
        self.space = space
        self.config = config or GasMonitorConfig()
        self.started_at = started_at
        c = self.config
        self._stale_after_s = c.stale_after_s
        self._tracks = {
            gas: _Track(
                limit,
                ExposureWindow(STEL_WINDOW_S, c.stel_bucket_s) if limit.stel is not None else None,
                ExposureWindow(TWA_WINDOW_S, c.twa_bucket_s) if limit.twa is not None else None,
                TrendWindow(c.trend_window_s),
                limit.gas.name,
            )
            for gas, limit in limits.items()
        }

    @property
    def gases(self) -> frozenset[Gas]:
        return frozenset(self._tracks)

    def hold_level(self, gas: Gas, level: Level) -> None:
        """Start from ``level`` for ``gas`` (after a restart, the level of a gas alarm that was active): it holds
        until a valid reading says otherwise — through the deadband, as any de-escalation. An unknown
        concentration is not a cleared one."""
        track = self._tracks.get(gas)
        if track is not None and track.value is None and level in (Level.LEVEL1, Level.LEVEL2):
            track.gas_level = level

    def snapshot_exposure(self, now_mono: float, now_wall: float) -> dict[str, Any]:
        """The STEL/TWA windows of every gas at ``now_mono`` as JSON-able data (see :meth:`ExposureWindow.snapshot`),
        keyed by gas, each with the unit its integrals are in; for :meth:`restore_exposure` after a restart."""
        out: dict[str, Any] = {}
        for gas, track in self._tracks.items():
            windows = {name: window.snapshot(now_mono, now_wall)
                       for name, window in (("stel", track.stel), ("twa", track.twa)) if window is not None}
            if windows:
                out[gas.value] = {"unit": track.limit.unit.value, **windows}
        return out

    def restore_exposure(self, data: Mapping[str, Any], now_mono: float, now_wall: float) -> list[str]:
        """Refill the STEL/TWA windows from :meth:`snapshot_exposure` of an earlier boot, before any reading.

        The downtime counts as no exposure (see :meth:`ExposureWindow.restore`). A gas no longer monitored, or whose
        limit is now in another unit, and a window whose sizes changed are left empty. Returns the windows restored
        (``"co.twa"``, …); raises ValueError for data that is not such a snapshot.
        """
        restored: list[str] = []
        if not isinstance(data, Mapping):
            raise ValueError("not an exposure snapshot")
        by_gas: dict[Gas, Any] = {}
        for name, saved in data.items():  # a snapshot of an older version may spell a gas "co": the same gas
            try:
                by_gas[Gas(name)] = saved
            except ValueError:
                continue
        for gas, track in self._tracks.items():
            saved = by_gas.get(gas)
            if not isinstance(saved, Mapping) or saved.get("unit") != track.limit.unit.value:
                continue
            for name, window in (("stel", track.stel), ("twa", track.twa)):
                if window is not None and name in saved and window.restore(saved[name], now_mono, now_wall):
                    restored.append(f"{gas.value}.{name}")
        return restored

    def observe(self, reading: Reading) -> bool:
        """Take one reading; False if the space does not monitor that gas or the reading is older than the last."""
        track = self._tracks.get(reading.gas)
        at = reading.at
        if track is None or (track.last_at is not None and at < track.last_at):
            return False
        status, track.note = reading.status, ""
        value: float | None = None
        if status in VALID_STATUSES:
            if reading.unit == track.limit.unit:
                value = reading.value  # already in the limit's unit: nothing to convert
            else:
                try:
                    conditions = self.config.conditions
                    if reading.temperature_c is not None:
                        conditions = Conditions(reading.temperature_c, conditions.pressure_kpa)
                    value = to_limit_unit(reading.value, reading.unit, track.limit, conditions,
                                          self.config.lel_pct_vol)
                except LimitError as exc:
                    # A reading the gateway cannot interpret is no reading at all: a fault, never "safe".
                    status, track.note = ReadingStatus.FAULT, f"unusable reading: {exc}"
        gap = track.last_valid_at is not None and at - track.last_valid_at > self._stale_after_s
        track.last_at, track.status, track.detector = at, status, reading.detector
        if value is None:
            track.in_range_since = None
            return True
        if status == ReadingStatus.OVER_RANGE:
            track.gas_level = Level.LEVEL2
        else:
            track.gas_level = next_level(track.limit, track.gas_level, value)
        track.value, track.last_valid_at = value, at
        if track.stel is not None:
            track.stel.add(at, value)
        if track.twa is not None:
            track.twa.add(at, value)
        track.trend.add(at, value)
        # The exposure averages matter only when everything else says "in range" and the gas has such limits.
        exposed = track.stel is not None or track.twa is not None
        if (status != ReadingStatus.OK or track.gas_level is not Level.NORMAL
                or (exposed and any(self._exposure_over(track, at)))):
            track.in_range_since = None
        elif track.in_range_since is None or gap:
            track.in_range_since = at
        return True

    def evaluate(self, now: float) -> GasState:
        """The state of every gas of the space at ``now``."""
        return GasState(self.space, now, {gas: self._report(track, now) for gas, track in self._tracks.items()})

    def _exposure_over(self, track: _Track, now: float) -> tuple[bool, bool]:
        return self._over(track, *self._exposure(track, now))

    @staticmethod
    def _exposure(track: _Track, now: float) -> tuple[float | None, float | None]:
        stel = track.stel.average(now) if track.stel is not None else None
        twa = track.twa.average(now) if track.twa is not None else None
        return stel, twa

    @staticmethod
    def _over(track: _Track, stel: float | None, twa: float | None) -> tuple[bool, bool]:
        lim = track.limit
        return (
            stel is not None and lim.stel is not None and stel > lim.stel,
            twa is not None and lim.twa is not None and twa > lim.twa,
        )

    def _report(self, t: _Track, now: float) -> GasReport:
        lim, cfg = t.limit, self.config
        name, unit = t.name, lim.unit
        reasons: list[str] = []
        fault: ReadingStatus | None = None
        since_last = now - (t.last_at if t.last_at is not None else self.started_at)
        condition = ""
        if since_last > self._stale_after_s:
            level = Level.STALE
            who = f" from {t.detector}" if t.detector else ""
            condition = (f"{name}: no reading{who} for {since_last:.1f} s "
                         f"(> {cfg.stale_after_polls} polls × {cfg.poll_interval_s:g} s)")
        elif t.last_at is None:
            level = Level.PENDING
            condition = f"{name}: no reading yet"
        elif t.status not in VALID_STATUSES:
            level, fault = Level.FAULT, t.status
            condition = t.note or f"{name}: detector {t.detector or '?'} reports {t.status}"
        else:
            level = t.gas_level
        if condition:
            reasons.append(condition)
        if t.gas_level != Level.NORMAL:
            reasons.append(level_text(lim, t.gas_level, t.value, over_range=t.status == ReadingStatus.OVER_RANGE))
        stel, twa = self._exposure(t, now)
        stel_over, twa_over = self._over(t, stel, twa)
        if stel_over:
            reasons.append(exposure_text(lim, "stel", stel))
        if twa_over:
            reasons.append(exposure_text(lim, "twa", twa))
        rising = self._rising(t)
        if rising:
            reasons.append(self._rising_text(t))
        in_range = level == Level.NORMAL and not (stel_over or twa_over)
        return GasReport(
            gas=lim.gas,
            level=level,
            gas_level=t.gas_level,
            detector=t.detector,
            value=t.value,
            unit=unit,
            stel=stel,
            twa=twa,
            stel_exceeded=stel_over,
            twa_exceeded=twa_over,
            fault=fault,
            in_range_since=t.in_range_since if in_range else None,
            rising=rising,
            reasons=tuple(reasons),
            limit=lim,
            over_range=t.status == ReadingStatus.OVER_RANGE,
            condition=condition,
        )

    def _rising(self, t: _Track) -> bool:
        """A rise toward the nearer level-1 bound that noise cannot make, fast enough to reach it within the
        horizon. Only while the gas is at the normal level: beyond level 1 its alarm says more than a trend."""
        if t.gas_level is not Level.NORMAL or t.value is None or t.status not in VALID_STATUSES:
            return False
        samples = t.trend
        span = samples.span()
        if span < self.config.trend_min_span_s:
            return False
        slope = samples.slope()
        if slope is None:
            return False
        band, deadband = t.limit.level1, t.limit.deadband
        toward_high = _toward_high(band, t.value)
        rate = slope if toward_high else -slope
        if rate <= 0 or rate * span < deadband:
            return False  # the fitted line moves less than the deadband over the window: within the noise
        if toward_high and band.low is None and t.value < deadband:
            return False  # still within the deadband of zero: noise on a zero reading, not a rise
        distance = band.distance_inside(t.value)
        return distance <= 0 or distance / rate <= self.config.trend_horizon_s

    def _rising_text(self, t: _Track) -> str:
        lim, value = t.limit, t.value
        slope = t.trend.slope() or 0.0
        band = lim.level1
        toward_high = value is not None and _toward_high(band, value)
        bound = band.high if toward_high else band.low
        verb = "rising" if toward_high else "falling"
        rate = abs(slope) * 60.0
        left = band.distance_inside(value) / abs(slope) if value is not None and slope else None
        when = f", there in about {left:.0f} s" if left is not None and left > 0 else ""
        return (f"{t.name} {value:.3g} {lim.unit} {verb} {rate:.2g} {lim.unit}/min toward its level-1 limit "
                f"{bound:g} {lim.unit}{when}")


def _toward_high(band: Band, value: float) -> bool:
    """Whether ``value``'s nearer bound of ``band`` is the upper one (always, for a band with no lower bound)."""
    return band.low is None or (band.high is not None and band.high - value <= value - band.low)


def exposure_text(lim: GasLimit, which: str, average: float | None) -> str:
    """The text of a STEL (``which="stel"``) or TWA alarm: the average, the limit it is above, the source."""
    name, unit = lim.gas.name, lim.unit
    if which == "stel":
        return f"{name} 15-min average {average or 0:.3g} {unit} above PC-STEL {lim.stel:g} {unit} ({lim.source})"
    return f"{name} 8-h average {average or 0:.3g} {unit} above PC-TWA {lim.twa:g} {unit} ({lim.source})"


def level_text(lim: GasLimit, level: Level, value: float | None, *, over_range: bool = False) -> str:
    """What a gas at ``level`` (1 or 2) means, naming that level's own limit and the value: the text of the
    level's alarm, so a level-1 alarm never speaks of the level-2 range."""
    name, unit = lim.gas.name, lim.unit
    band = lim.level2 if level is Level.LEVEL2 else lim.level1
    number = "2" if level is Level.LEVEL2 else "1"
    if value is None:
        return f"{name}: level {number} held from before the restart until a reading shows otherwise"
    over = " (over range)" if over_range else ""
    if band.contains(value):
        near = band.high if _toward_high(band, value) else band.low
        return (f"{name} {value:.3g} {unit}{over} back inside its level-{number} limit {near:g} {unit} "
                f"but not yet by the {lim.deadband:g} deadband ({lim.source})")
    if band.high is not None and value >= band.high:
        where = f"at or above its level-{number} limit {band.high:g} {unit}"
    else:
        where = f"below its level-{number} limit {band.low:g} {unit}"
    return f"{name} {value:.3g} {unit}{over} {where} ({lim.source})"
