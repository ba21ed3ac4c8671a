"""One fixed gas detector as the daemon sees it: its poller, its readings for the safety core, and its health.

The poller reads the live registers every cycle and the static ones (set-points, maintenance dates, identity)
at start and then every ``settings_every_s``. Polls become core :class:`~edge.core.gas.Reading` values: a
fault, warm-up, a sensor not fitted or below range, a frozen heartbeat or a lost link each become a reading
that is not "ok" — never a plausible number. Health (calibration and bump-test due, fault) decides whether the
detector can vouch for entry.

A frozen heartbeat is a fault everywhere at once: the poll's snapshot itself is marked (device fault, every
reading fault with no value), so the telemetry record, the readings, the health and the attestation all say
so from the same poll. Every change of the detector's condition (ok, comm-fault, heartbeat frozen, fault,
warm-up) is one log line and one event record (:meth:`DetectorLink.condition_events`), and ``/healthz`` shows
the condition (:meth:`DetectorLink.condition`).
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date

import structlog

from edge.config import DetectorConfig
from edge.core.attestation import DetectorHealth
from edge.core.clock import Now
from edge.core.gas import Reading, ReadingStatus
from edge.core.limits import (
    Band,
    Conditions,
    ConfigWarning,
    DetectorSetpoints,
    Gas,
    GasLimit,
    Unit,
    check_detector_setpoints,
)
from edge.daemon import records
from edge.drivers.modbus import ModbusBus
from edge.drivers.modbus.poller import Blocks, DevicePoller, PollPolicy, PollResult
from edge.errors import ModbusError
from protocols.errors import ProfileError
from protocols.gasprofile import (
    DetectorDecoder,
    DetectorProfile,
    DetectorSnapshot,
    DeviceStatus,
    GasReading,
    GasSettings,
    SetPoint,
    read_plan,
)
from protocols.gasprofile import ReadingStatus as WireStatus

log = structlog.get_logger(__name__)

OnPoll = Callable[["DetectorLink", PollResult[DetectorSnapshot]], Awaitable[None]]

_STATUS = {
    WireStatus.OK: ReadingStatus.OK,
    WireStatus.OVER_RANGE: ReadingStatus.OVER_RANGE,
    WireStatus.WARMUP: ReadingStatus.WARMUP,
    WireStatus.CALIBRATING: ReadingStatus.CALIBRATING,
    WireStatus.FAULT: ReadingStatus.FAULT,
    WireStatus.NOT_FITTED: ReadingStatus.FAULT,  # a gas the space needs but nobody measures is no reading
    WireStatus.UNDER_RANGE: ReadingStatus.FAULT,  # below zero by more than the zero band: a sensor problem
}
# By wire name: a dict lookup per reading instead of an enum construction (this runs for every gas of every poll).
_GAS_BY_NAME = {g.value: g for g in Gas}
_UNIT_BY_NAME = {u.value: u for u in Unit}


def day_to_wall(day: date | None) -> int | None:
    """A due date as wall seconds (the start of that day, UTC)."""
    return None if day is None else calendar.timegm(day.timetuple())


def shown_snapshot(profile: DetectorProfile, snapshot: DetectorSnapshot, *, heartbeat_frozen: bool
                   ) -> DetectorSnapshot:
    """The snapshot as the gateway shows and uses it.

    A reading below the bottom of its range but within the profile's zero band is zero drift, reported "ok" by
    the detector: it shows as the range's bottom (0), never as a negative concentration. A frozen heartbeat
    makes the whole snapshot a fault — the values the registers still hold are not measurements any more.
    """
    if heartbeat_frozen:
        faulted = tuple(replace(r, value=None, status=WireStatus.FAULT, alarm1=False, alarm2=False)
                        for r in snapshot.readings)
        status = DeviceStatus(fault=True, warmup=snapshot.status.warmup,
                              calibration_due=snapshot.status.calibration_due)
        return replace(snapshot, status=status, readings=faulted)
    gases = profile.gases
    out: list[GasReading] | None = None
    for i, r in enumerate(snapshot.readings):
        channel = gases.get(r.gas)
        if r.status == WireStatus.OK and r.value is not None and channel is not None and r.value < channel.range[0]:
            if out is None:
                out = list(snapshot.readings)
            out[i] = replace(r, value=float(channel.range[0]))
    return snapshot if out is None else replace(snapshot, readings=tuple(out))


def snapshot_readings(snapshot: DetectorSnapshot, profile: DetectorProfile, detector: str, at: float
                      ) -> list[Reading]:
    """A (shown) snapshot as core readings at monotonic ``at``; channels the core has no limits for are left out."""
    out = []
    for r in snapshot.readings:
        gas, unit = _GAS_BY_NAME.get(r.gas), _UNIT_BY_NAME.get(r.unit)
        if gas is None or unit is None:
            continue  # a channel the core has no limits for (a vendor's extra gas)
        value = r.value
        if value is None:
            value = profile.gases[r.gas].range[1] if r.status == WireStatus.OVER_RANGE else 0.0
        out.append(Reading(gas, float(value), unit, at, _STATUS[r.status], detector))
    return out


def setpoint_bands(a1: SetPoint | None, a2: SetPoint | None) -> tuple[Band, Band] | None:
    """A detector's two set-points as the ranges it accepts (level 1, level 2); None without both."""
    if a1 is None or a2 is None:
        return None

    def band(primary: SetPoint, other: SetPoint) -> Band:
        low = primary.value if primary.direction == "falling" else (
            other.value if other.direction == "falling" else None)
        high = primary.value if primary.direction == "rising" else (
            other.value if other.direction == "rising" else None)
        return Band(low, high)

    return band(a1, a2), band(a2, a1)


class DetectorLink:
    """Polls one detector on its bus; ``on_poll`` gets every cycle's result (start with :meth:`start`)."""

    def __init__(self, config: DetectorConfig, bus: ModbusBus, profile: DetectorProfile, on_poll: OnPoll) -> None:
        self.config = config
        self.id = config.id
        self.space = config.space
        self.profile = profile
        self.decoder = DetectorDecoder(profile)  # this link's own: its plan and memo of recent readings
        self._on_poll = on_poll
        self.live_plan = read_plan(profile, include_static=False)
        self.full_plan = read_plan(profile)
        policy = PollPolicy(interval_s=config.poll_interval_s, retries=config.retries, fail_after=config.fail_after)
        self.poller: DevicePoller[DetectorSnapshot] = DevicePoller(
            config.id, bus, config.unit, self.full_plan, self._decode, self._on_result, policy=policy)
        self.gases = tuple(Gas(g) for g in profile.gases if g in {gas.value for gas in Gas})
        self.settings: tuple[GasSettings, ...] | None = None
        self.snapshot: DetectorSnapshot | None = None
        self.comm_fault = False
        self._settings_due = 0.0
        self._heartbeat: int | None = None
        self._heartbeat_changed = time.monotonic()
        self._due_cache: tuple[tuple[GasSettings, ...] | None, tuple[int | None, int | None]] | None = None
        self._condition = "ok"  # as last recorded: see condition_events

    def start(self) -> None:
        self.poller.start()

    async def stop(self) -> None:
        await self.poller.stop()

    def _decode(self, blocks: Blocks) -> DetectorSnapshot:
        try:
            return self.decoder.decode(blocks)
        except ProfileError as exc:  # a reply that decodes to nonsense is a failed poll, never a reading
            raise ModbusError(f"{self.id}: undecodable reply: {exc}", code="bad_response") from exc

    async def _on_result(self, result: PollResult[DetectorSnapshot]) -> None:
        snapshot = result.value
        self.comm_fault = result.comm_fault
        if snapshot is not None:
            if snapshot.settings is not None:
                self.settings = snapshot.settings
                self._settings_due = result.at + self.config.settings_every_s
                self.poller.plan = self.live_plan
            elif result.at >= self._settings_due:
                self.poller.plan = self.full_plan
            if snapshot.heartbeat != self._heartbeat:
                self._heartbeat, self._heartbeat_changed = snapshot.heartbeat, result.at
            shown = shown_snapshot(self.profile, snapshot, heartbeat_frozen=self.heartbeat_frozen(result.at))
            if shown is not snapshot:
                result = replace(result, value=shown)
            self.snapshot = shown
        await self._on_poll(self, result)

    def heartbeat_frozen(self, mono: float) -> bool:
        timeout = self.config.heartbeat_timeout_s
        return bool(timeout) and self._heartbeat is not None and mono - self._heartbeat_changed > timeout

    def readings(self, result: PollResult[DetectorSnapshot], at: float) -> list[Reading]:
        """The poll as core readings at monotonic ``at`` (empty for a failed poll not yet in comm-fault)."""
        snapshot = result.value
        if snapshot is None:
            if not result.comm_fault:
                return []  # one missed poll is not yet a fault; staleness covers a long gap
            return [Reading(g, 0.0, Unit.PPM, at, ReadingStatus.COMM_LOSS, self.id) for g in self.gases]
        return snapshot_readings(snapshot, self.profile, self.id, at)

    def condition(self, result: PollResult[DetectorSnapshot]) -> tuple[bool, str]:
        """The detector's condition after ``result``, as ``/healthz`` shows it: (ok, detail)."""
        if result.comm_fault:
            return False, "comm-fault"
        snapshot = result.value
        if snapshot is None:
            return True, "poll failed"  # one missed poll is not yet a fault
        if self._heartbeat is not None and self.heartbeat_frozen(result.at):
            return False, "heartbeat frozen"
        if snapshot.status.fault:
            return False, "fault"
        if snapshot.status.warmup:
            return False, "warm-up"
        failed = sorted(r.gas for r in snapshot.readings if r.status in (WireStatus.FAULT, WireStatus.NOT_FITTED,
                                                                          WireStatus.UNDER_RANGE))
        return (False, f"sensor fault: {', '.join(failed)}") if failed else (True, "ok")

    def condition_events(self, result: PollResult[DetectorSnapshot]) -> list[records.Record]:
        """One event record and one log line when the detector's condition changed with ``result``: a
        ``detector_comm_fault``, a ``detector_fault`` (heartbeat frozen, fault, sensor fault, warm-up) or a
        ``detector_recovered``; nothing while it stays the same (a failed poll short of comm-fault changes
        nothing)."""
        ok, detail = self.condition(result)
        if detail == "poll failed" or detail == self._condition:
            return []
        was, self._condition = self._condition, detail
        if ok:
            log.info("detector recovered", detector=self.id, space=self.space, was=was)
            return [records.event("detector_recovered", space=self.space, detector=self.id, was=was)]
        if detail == "comm-fault":
            error = records.text(str(result.error or ""))
            log.error("detector fault", detector=self.id, space=self.space, condition=detail, error=error)
            return [records.event("detector_comm_fault", space=self.space, detector=self.id, error=error)]
        why = detail
        if detail == "heartbeat frozen":
            why = f"heartbeat {self._heartbeat} unchanged for {result.at - self._heartbeat_changed:.0f} s " \
                  f"(> {self.config.heartbeat_timeout_s:g} s)"
        # A warm-up is expected after power-on (it still cannot vouch for entry); the rest are failures.
        (log.warning if detail == "warm-up" else log.error)("detector fault", detector=self.id, space=self.space,
                                                             condition=detail, reason=why)
        return [records.event("detector_fault", space=self.space, detector=self.id, condition=detail,
                              reason=records.text(why))]

    def health(self, now: Now) -> DetectorHealth:
        """Whether the detector can vouch for entry now: maintenance dates from its registers, fault status."""
        snapshot = self.snapshot
        cal, bump = self._due_dates(self.settings)
        fault = (self.comm_fault or snapshot is None or snapshot.status.fault or snapshot.status.warmup
                 or self.heartbeat_frozen(now.mono))  # between polls too: a detector that stopped answering
        return DetectorHealth(self.id, frozenset(self.gases), cal, bump, fault)

    def _due_dates(self, settings: tuple[GasSettings, ...] | None) -> tuple[int | None, int | None]:
        """The earliest calibration and bump-test due dates (wall seconds), worked out once per settings read:
        health is asked after every poll, the settings change only when the static registers are read again."""
        cached = self._due_cache
        if cached is not None and cached[0] is settings:
            return cached[1]
        cal = bump = None
        if settings is not None:
            cal = min((d for s in settings if (d := day_to_wall(s.calibration_due_on)) is not None), default=None)
            bump = min((d for s in settings if (d := day_to_wall(s.bump_due_on)) is not None), default=None)
        self._due_cache = (settings, (cal, bump))
        return cal, bump

    def setpoint_warnings(self, limits: dict[Gas, GasLimit], temperature_c: float, pressure_kpa: float,
                          lel_pct_vol: float | None) -> list[ConfigWarning]:
        """Warn when the detector's own set-points are looser than the space's limits (it would stay silent)."""
        out: list[ConfigWarning] = []
        for s in self.settings or ():
            bands = setpoint_bands(s.alarm1, s.alarm2)
            try:
                gas, unit = Gas(s.gas), Unit(s.unit)
            except ValueError:
                continue
            if bands is None or gas not in limits:
                continue
            points = DetectorSetpoints(self.id, gas, unit, bands[0], bands[1])
            out += check_detector_setpoints(points, limits, Conditions(temperature_c, pressure_kpa), lel_pct_vol)
        return out
