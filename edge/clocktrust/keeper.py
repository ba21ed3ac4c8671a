"""The daemon's clock-trust holder: asks the OS for NTP state now and then, takes verified cloud time, and hands
out time — trusted time for padlocks and deadlines, best-known time for records.

A thin adapter over :class:`~edge.clocktrust.trust.ClockTrust` (every decision about trust is made there) and
:class:`~edge.clocktrust.requests.TimeRequests` (the time requests whose echo measures a cloud time command's
delivery, uplink spec §5.5).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from edge.clocktrust.requests import TimeRequests
from edge.clocktrust.system import NtpStatus, ntp_status, read_boot_id, read_clocks
from edge.clocktrust.trust import ClockTrust, Distrust, Reading, TimeSource, TrustedTime
from edge.core.clock import Now
from edge.errors import EdgeError
from edge.tasks import OwnedTask
from protocols.commands import TimeSet

log = structlog.get_logger(__name__)

DEFAULT_REFRESH_S = 60.0


class ClockKeeper:
    """Holds the trust state; ``start()`` runs the periodic NTP check (task ``clock-trust``), ``stop()`` ends it."""

    def __init__(self, trust: ClockTrust | None = None, *, boot_id: str | None = None,
                 ntp: Callable[[], Awaitable[NtpStatus | None]] = ntp_status,
                 clocks: Callable[[str], Reading] = read_clocks, requests: TimeRequests | None = None) -> None:
        self.trust = trust or ClockTrust()
        self.requests = requests or TimeRequests()
        self.boot_id = boot_id or read_boot_id()
        self._ntp = ntp
        self._clocks = clocks
        self._task = OwnedTask("clock-trust")
        self._last_reason: Distrust | None = Distrust.NEVER_SET
        self._time_wanted = False  # a time command looked expired: ask for one answering our request

    def reading(self) -> Reading:
        return self._clocks(self.boot_id)

    def _changed(self, trust: ClockTrust, reading: Reading, source: str) -> None:
        self.trust = trust
        if trust.conflict_ms is not None:
            log.warning("clocktrust.sources_disagree", source=source, offset_ms=round(trust.conflict_ms))
        reason = trust.why_untrusted(reading)
        if reason != self._last_reason:  # log transitions once
            if reason is None:
                log.info("clocktrust.trusted", source=source)
            else:
                log.warning("clocktrust.untrusted", reason=str(reason))
            self._last_reason = reason

    async def refresh(self) -> bool:
        """Fold in the OS's NTP state; returns whether the clock is trusted afterwards."""
        status = await self._ntp()
        reading = self.reading()
        trust = self.trust
        if status is not None:
            trust = trust.on_ntp(reading, synced=status.synced, maxerror_ms=status.maxerror_ms)
        self._changed(trust, reading, status.source if status else "none")
        return self.trust.why_untrusted(reading) is None

    def cloud_time(self, time_ms: int, *, delay_bound_ms: float) -> bool:
        """A verified cloud ``time`` command just arrived (see :meth:`ClockTrust.on_cloud_time`)."""
        reading = self.reading()
        self._changed(self.trust.on_cloud_time(time_ms, reading, delay_bound_ms=delay_bound_ms), reading, "cloud")
        return self.trust.why_untrusted(reading) is None

    def time_request(self) -> str:
        """A fresh time request for the uplink to send (HTTP poll, MQTT status); the cloud echoes it."""
        return self.requests.new(self.reading().mono)

    def take_time(self, command: TimeSet) -> bool:
        """A verified cloud ``time`` command (uplink spec §5.5); returns whether the clock is trusted after it.

        Echoing one of our requests, it was signed within the request's measured round trip: error bound half
        of that. Otherwise only the lifetime bounds its delivery (the coarse bound) — and one that our own
        estimate, however loose, shows expired beyond doubt waited somewhere too long: EdgeError ``expired``,
        so it can never set the clock back."""
        reading = self.reading()
        round_trip_ms = self.requests.round_trip_ms(command.body.echo, reading.mono)
        if round_trip_ms is None:
            estimate = self.trust.estimate(reading)
            if estimate is not None and estimate.wall_ms - estimate.uncertainty_ms >= command.expires_at_ms:
                raise EdgeError(f"time command expired at {command.expires_at_ms}", code="expired",
                                field="expires_at_ms")
            delay_bound_ms = float(command.expires_at_ms - command.issued_at_ms)
        else:
            delay_bound_ms = round_trip_ms
        log.info("clocktrust.cloud_time", counter=command.counter, echoed=round_trip_ms is not None,
                 delay_bound_ms=round(delay_bound_ms))
        self._time_wanted = False
        return self.cloud_time(command.body.time_ms, delay_bound_ms=delay_bound_ms)

    def takes_expired_time(self, command: TimeSet) -> bool:
        """A genuine cloud ``time`` command our trusted clock calls expired: take it anyway only when it echoes one
        of our requests (its freshness is then measured, not assumed: our clock runs ahead, and the command's
        estimate wins over it) and NTP does not vouch for our clock. One that echoes nothing may have waited in a
        broker past its lifetime: refused, the clock left alone — but our clock may just as well run ahead, so
        the gateway asks for a time command answering its request (:meth:`wants_time`) to tell which."""
        anchor = self.trust.anchor
        if anchor is not None and anchor.source is TimeSource.NTP and self.trusted_ms() is not None:
            return False
        if self.requests.round_trip_ms(command.body.echo, self.reading().mono) is not None:
            return True
        if not self._time_wanted:
            log.warning("clocktrust.time_looked_expired", counter=command.counter,
                        detail="refused; asking for a time command that answers our request")
        self._time_wanted = True
        return False

    def wants_time(self) -> bool:
        """Whether the uplink should ask the cloud for a time command now (HTTP ``clock=untrusted``, MQTT status
        ``clock_trusted: false``): the clock is not trusted, or a time command looked expired and no time
        command has been taken since (uplink spec §5.5)."""
        return self._time_wanted or self.trusted_ms() is None

    def distrust(self) -> None:
        """Drop trust on evidence that the clock is wrong."""
        reading = self.reading()
        self._changed(self.trust.distrust(), reading, "evidence")

    def distrust_unless_ntp(self) -> bool:
        """Drop trust unless NTP vouches for the clock (e.g. the replay counters were lost: only a fresh signed
        ``time`` command may pass until the clock is trusted again). Returns whether trust was dropped."""
        anchor = self.trust.anchor
        if anchor is not None and anchor.source is TimeSource.NTP and self.trusted_ms() is not None:
            return False
        self.distrust()
        return True

    def for_padlock(self) -> TrustedTime:
        """Trusted time to push to a padlock, within the padlock bound (``ClockTrust.for_padlock``); raises
        :class:`~edge.clocktrust.trust.ClockUntrusted`."""
        return self.trust.for_padlock(self.reading())

    def trusted_ms(self) -> int | None:
        """Trusted unix ms, or None: the ``now_ms`` for ``protocols.commands.verify_command``."""
        reading = self.reading()
        if self.trust.why_untrusted(reading) is not None:
            return None
        return self.trust.trusted(reading).wall_ms

    def now(self) -> Now:
        """The instant for the safety core and records: the best-known wall time (trusted or not)."""
        reading = self.reading()
        wall_ms, _trusted = self.trust.record_ms(reading)
        return Now(reading.mono, wall_ms // 1000)

    async def _run(self, interval_s: float) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:  # a broken probe leaves the state to age; it must not end the loop
                log.exception("clocktrust.refresh_failed")
            await asyncio.sleep(interval_s)

    def start(self, interval_s: float = DEFAULT_REFRESH_S) -> asyncio.Task[None]:
        return self._task.start(lambda: self._run(interval_s))

    async def stop(self) -> None:
        await self._task.stop()
