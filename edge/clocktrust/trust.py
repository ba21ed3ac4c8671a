"""Whether the gateway's wall clock can be trusted, pure: time is passed in, nothing is read here.

A Raspberry Pi has no battery-backed clock: after a power cut its wall clock starts wherever the OS left it.
Trust therefore comes only from a *time source* — the kernel's NTP discipline, or a time command signed by the
cloud — and is held as an :class:`Anchor`: the best estimate of true time at one monotonic instant, with an
error bound. Between sources the estimate advances on the monotonic clock and the bound grows by the crystal's
worst drift (``drift_ppm``, 50 ppm by default ≈ 4.3 s a day). The anchor belongs to one boot (the monotonic
clock restarts at boot), and the estimate is trusted only while its bound is within ``max_uncertainty_ms``.
The system wall clock is used only while the kernel reports NTP-synchronised; otherwise it is ignored, so a
clock stepped by hand or restored from a file never leaks into a padlock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from edge.errors import EdgeError

DEFAULT_DRIFT_PPM = 50.0
#: The largest error bound at which the time is trusted at all (command expiry, deadlines, trusted records). A
#: minute is well inside a permit's window (hours) and the token clock-skew allowance, and admits a cloud time
#: command that echoes no request, delivered within its 60-second lifetime (bound 30 s + the cloud's own error).
DEFAULT_MAX_UNCERTAINTY_MS = 60_000
#: The largest error bound at which the time is signed into a padlock's clock: the tolerance a padlock clock is
#: held to (``PadlockClockPolicy.tolerance_s``). A looser time may check command expiry and stamp records, but
#: setting a lock's clock from it could move that clock further than the lock may drift (uplink spec §5.5).
DEFAULT_PADLOCK_MAX_UNCERTAINTY_MS = 10_000
#: Error assumed when the OS says "synchronised" without a bound (timedatectl).
DEFAULT_NTP_UNCERTAINTY_MS = 1_000
#: The cloud's own clock error (it runs NTP-synchronised servers).
DEFAULT_CLOUD_ERROR_MS = 500


class TimeSource(StrEnum):
    NTP = "ntp"
    CLOUD = "cloud"


class Distrust(StrEnum):
    """Why the clock is not trusted now."""

    NEVER_SET = "never_set"  # no source since this boot
    OTHER_BOOT = "other_boot"  # the anchor is from a previous boot
    TOO_UNCERTAIN = "too_uncertain"  # drift since the last source exceeds the bound
    DISTRUSTED = "distrusted"  # dropped on evidence that it was wrong
    TOO_UNCERTAIN_FOR_PADLOCK = "too_uncertain_for_padlock"  # trusted, but too loose to set a padlock's clock


class ClockUntrusted(EdgeError):
    """No trusted wall time: nothing time-bound may be sent to a padlock. ``code`` is a :class:`Distrust`."""

    default_code = "untrusted_clock"


@dataclass(frozen=True, slots=True)
class Reading:
    """One look at the local clocks: monotonic seconds, the system wall clock (unix ms, as is), the boot id."""

    mono: float
    wall_ms: int
    boot_id: str


@dataclass(frozen=True, slots=True)
class Anchor:
    source: TimeSource
    boot_id: str
    mono: float
    true_ms: float  # best estimate of true unix ms at ``mono``
    uncertainty_ms: float  # bound on the estimate's error at ``mono``


@dataclass(frozen=True, slots=True)
class TrustedTime:
    wall_ms: int
    uncertainty_ms: int
    source: TimeSource

    @property
    def wall_s(self) -> int:
        return self.wall_ms // 1000


@dataclass(frozen=True, slots=True)
class ClockTrust:
    """The trust state; every transition returns a new one."""

    anchor: Anchor | None = None
    drift_ppm: float = DEFAULT_DRIFT_PPM
    max_uncertainty_ms: float = DEFAULT_MAX_UNCERTAINTY_MS
    distrusted: bool = False  # the last change was dropping trust on evidence (reported as such)
    conflict_ms: float | None = None  # set when the last source disagreed with the estimate beyond both bounds

    # -- reading ----------------------------------------------------------------------------------------------

    def _projected(self, reading: Reading) -> tuple[float, float] | None:
        anchor = self.anchor
        if anchor is None or anchor.boot_id != reading.boot_id or reading.mono < anchor.mono:
            return None
        elapsed_s = reading.mono - anchor.mono
        return anchor.true_ms + elapsed_s * 1000, anchor.uncertainty_ms + elapsed_s * self.drift_ppm / 1000

    def estimate(self, reading: Reading) -> TrustedTime | None:
        """The best known true time now, however uncertain; None without a source in this boot."""
        projected = self._projected(reading)
        if projected is None or self.anchor is None:
            return None
        true_ms, uncertainty_ms = projected
        return TrustedTime(round(true_ms), round(uncertainty_ms + 0.5), self.anchor.source)

    def why_untrusted(self, reading: Reading) -> Distrust | None:
        """None when the time is trusted now, else the reason."""
        if self.anchor is None:
            return Distrust.DISTRUSTED if self.distrusted else Distrust.NEVER_SET
        if self.anchor.boot_id != reading.boot_id or reading.mono < self.anchor.mono:
            return Distrust.OTHER_BOOT
        estimate = self.estimate(reading)
        if estimate is None or estimate.uncertainty_ms > self.max_uncertainty_ms:
            return Distrust.TOO_UNCERTAIN
        return None

    def trusted(self, reading: Reading) -> TrustedTime:
        """The time for anything a padlock or a deadline relies on; :class:`ClockUntrusted` otherwise."""
        reason = self.why_untrusted(reading)
        estimate = self.estimate(reading)
        if reason is not None or estimate is None:
            code = reason or Distrust.NEVER_SET
            raise ClockUntrusted(f"the gateway clock is not trusted: {code}", code=str(code))
        return estimate

    def for_padlock(self, reading: Reading, *,
                    max_uncertainty_ms: float = DEFAULT_PADLOCK_MAX_UNCERTAINTY_MS) -> TrustedTime:
        """Trusted time tight enough to set a padlock's clock; :class:`ClockUntrusted` otherwise."""
        trusted = self.trusted(reading)
        if trusted.uncertainty_ms > max_uncertainty_ms:
            raise ClockUntrusted(f"the gateway clock is trusted within ±{trusted.uncertainty_ms} ms, too loose for a "
                                 f"padlock (±{max_uncertainty_ms:.0f} ms)",
                                 code=str(Distrust.TOO_UNCERTAIN_FOR_PADLOCK))
        return trusted

    def record_ms(self, reading: Reading) -> tuple[int, bool]:
        """Wall time to stamp a record with, and whether it is trusted: the estimate when there is one in this
        boot (better than a wall clock nobody vouches for), else the system wall clock."""
        estimate = self.estimate(reading)
        if estimate is None:
            return reading.wall_ms, False
        return estimate.wall_ms, self.why_untrusted(reading) is None

    # -- sources ----------------------------------------------------------------------------------------------

    def _adopt(self, candidate: Anchor, reading: Reading) -> ClockTrust:
        """Take ``candidate`` unless the current estimate is trusted, agrees with it and is more precise (a looser
        source never widens a good bound). When the two disagree beyond both bounds one of them is wrong: the
        fresh evidence wins, and the disagreement is kept in ``conflict_ms`` for the adapter to report."""
        current = self.estimate(reading)
        if current is not None:
            offset = candidate.true_ms - current.wall_ms
            if abs(offset) > candidate.uncertainty_ms + current.uncertainty_ms:
                return replace(self, anchor=candidate, distrusted=False, conflict_ms=offset)
            if current.uncertainty_ms < candidate.uncertainty_ms and self.why_untrusted(reading) is None:
                return replace(self, conflict_ms=None)
        return replace(self, anchor=candidate, distrusted=False, conflict_ms=None)

    def on_ntp(self, reading: Reading, *, synced: bool, maxerror_ms: float | None = None) -> ClockTrust:
        """The OS's NTP state, looked at with ``reading``: when synchronised, the system wall clock is true time
        within ``maxerror_ms`` (the kernel's own bound) or :data:`DEFAULT_NTP_UNCERTAINTY_MS`."""
        if not synced:
            return replace(self, conflict_ms=None)
        bound = DEFAULT_NTP_UNCERTAINTY_MS if maxerror_ms is None else max(float(maxerror_ms), 0.0)
        return self._adopt(Anchor(TimeSource.NTP, reading.boot_id, reading.mono, float(reading.wall_ms), bound),
                           reading)

    def on_cloud_time(self, time_ms: int, reading: Reading, *, delay_bound_ms: float,
                      cloud_error_ms: float = DEFAULT_CLOUD_ERROR_MS) -> ClockTrust:
        """A verified cloud ``time`` command that arrived at ``reading``. The caller vouches that it was signed at
        most ``delay_bound_ms`` before it arrived: the measured round trip of the time request it echoes, else the
        command's lifetime (uplink spec §5.5). True time is then within ``[time_ms, time_ms + delay]``: the
        estimate is the middle, the bound half the delay plus the cloud's own clock error."""
        if delay_bound_ms < 0:
            raise ValueError("delay_bound_ms cannot be negative")
        half = delay_bound_ms / 2
        return self._adopt(Anchor(TimeSource.CLOUD, reading.boot_id, reading.mono, time_ms + half,
                                  half + cloud_error_ms), reading)

    def distrust(self) -> ClockTrust:
        """Drop the anchor on evidence that it is wrong (e.g. a fresh cloud command refused as expired)."""
        return replace(self, anchor=None, distrusted=True, conflict_ms=None)
