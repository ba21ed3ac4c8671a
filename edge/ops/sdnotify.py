"""sd_notify(3) without the systemd package: readiness, status, stopping and the watchdog.

systemd passes ``NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace) to a ``Type=notify``
service; each notification is one datagram of ``KEY=value`` lines. With ``WatchdogSec=`` set, systemd also
passes ``WATCHDOG_USEC`` and restarts the service when no ``WATCHDOG=1`` arrives in time. The pinger here pings
at half that period and only while a health check passes, so a wedged event loop (the pinger cannot run) or a
dead essential task (the check fails) both end in a restart. Without ``NOTIFY_SOCKET`` everything is a no-op.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Mapping

import structlog

from edge.tasks import OwnedTask

log = structlog.get_logger(__name__)


def _socket_address(value: str) -> str:
    # A leading '@' names a socket in the abstract namespace, where the name starts with a NUL byte.
    return "\0" + value[1:] if value.startswith("@") else value


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between watchdog pings (half of ``WATCHDOG_USEC``), or None when the watchdog is off or is
    meant for another process (``WATCHDOG_PID``)."""
    env = os.environ if environ is None else environ
    usec, pid = env.get("WATCHDOG_USEC"), env.get("WATCHDOG_PID")
    if not usec:
        return None
    if pid and pid != str(os.getpid()):
        return None
    try:
        period = int(usec)
    except ValueError:
        log.warning("sdnotify.bad_watchdog_usec", value=usec)
        return None
    return period / 2 / 1_000_000 if period > 0 else None


class Notifier:
    """Sends notifications to systemd; every method returns whether a datagram was sent."""

    def __init__(self, address: str | None) -> None:
        self.address = address or None
        self._sock: socket.socket | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET"))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, **fields: str) -> bool:
        """Send ``KEY=value`` lines in one datagram. Never raises: the daemon's work matters more than telling
        systemd about it, and a missed watchdog ping is what makes systemd act."""
        if self.address is None:
            return False
        # A newline inside a value would start a new assignment: flatten it.
        payload = "\n".join(f"{key}={' '.join(str(value).splitlines())}" for key, value in fields.items())
        try:
            if self._sock is None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                sock.setblocking(False)  # a full socket buffer must never block the event loop
                self._sock = sock
            self._sock.sendto(payload.encode("utf-8"), _socket_address(self.address))
        except OSError as exc:
            log.warning("sdnotify.send_failed", error=str(exc), fields=sorted(fields))
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.notify(READY="1", **({"STATUS": status} if status else {}))

    def status(self, text: str) -> bool:
        return self.notify(STATUS=text)

    def watchdog(self) -> bool:
        return self.notify(WATCHDOG="1")

    def stopping(self, status: str | None = None) -> bool:
        return self.notify(STOPPING="1", **({"STATUS": status} if status else {}))

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class WatchdogPinger:
    """Pings the systemd watchdog every ``interval_s`` while ``healthy()`` is true.

    Owned by the daemon: :meth:`start` creates the task ``sd-watchdog``, :meth:`stop` cancels and awaits it.
    ``pings`` and ``withheld`` count what it did, one per period.
    """

    def __init__(self, notifier: Notifier, interval_s: float, healthy: Callable[[], bool]) -> None:
        if interval_s <= 0:
            raise ValueError("the watchdog interval must be positive")
        self.notifier = notifier
        self.interval_s = interval_s
        self.healthy = healthy
        self.pings = 0
        self.withheld = 0
        self._task = OwnedTask("sd-watchdog")

    def _check(self) -> bool:
        try:
            return bool(self.healthy())
        except Exception:  # a crashing health check is an unhealthy daemon, not a crashed pinger
            log.exception("sdnotify.health_check_failed")
            return False

    async def run(self) -> None:
        was_healthy = True
        while True:
            healthy = self._check()
            if healthy:
                self.notifier.watchdog()
                self.pings += 1
            else:
                self.withheld += 1
            if healthy != was_healthy:  # log transitions once, not every period
                if healthy:
                    log.info("sdnotify.watchdog_resumed")
                else:
                    log.warning("sdnotify.watchdog_withheld")
                was_healthy = healthy
            await asyncio.sleep(self.interval_s)

    def start(self) -> asyncio.Task[None]:
        return self._task.start(self.run)

    async def stop(self) -> None:
        await self._task.stop()
