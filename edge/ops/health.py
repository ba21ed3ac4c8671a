"""What the daemon's parts report about themselves, for ``/healthz`` and for the systemd watchdog.

Each component reports ok or not with a short detail. A *critical* component (the safety-core tick, the outbox
writer) is one whose failure a restart can cure: the watchdog is withheld while one is down, or when it has not
reported within its ``max_age_s`` (a task that silently stopped). A non-critical one (a detector in comm-fault,
the uplink offline) shows in ``/healthz`` but never triggers a restart — restarting cannot fix a cable, and the
safety core already treats the fault as an alarm. A critical component registered with ``watchdog=False`` (a
storage fault) shows as critical in ``/healthz`` but does not withhold the watchdog: a restart cannot free a full
disk, and would lose the records the daemon holds in memory meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    ok: bool
    detail: str
    at: float  # monotonic seconds of the report


@dataclass(frozen=True, slots=True)
class _Component:
    critical: bool
    max_age_s: float | None
    watchdog: bool


class Health:
    """Component statuses. ``clock`` is the monotonic clock (replaceable for tests)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._components: dict[str, _Component] = {}
        self._status: dict[str, ComponentStatus] = {}

    def register(self, name: str, *, critical: bool = False, max_age_s: float | None = None,
                 watchdog: bool | None = None) -> None:
        """Declare a component; until it first reports it counts as not ok ("starting")."""
        if name in self._components:
            raise ValueError(f"health component {name!r} is already registered")
        if max_age_s is not None and max_age_s <= 0:
            raise ValueError("max_age_s must be positive")
        self._components[name] = _Component(critical, max_age_s, critical if watchdog is None else watchdog)

    def registered(self, name: str) -> bool:
        return name in self._components

    def report(self, name: str, ok: bool, detail: str = "") -> None:
        if name not in self._components:
            raise KeyError(f"unknown health component {name!r}")
        self._status[name] = ComponentStatus(ok, detail, self._clock())

    def component(self, name: str) -> ComponentStatus:
        """The effective status: a missing or too old report is not ok."""
        spec = self._components[name]
        status = self._status.get(name)
        now = self._clock()
        if status is None:
            return ComponentStatus(False, "starting: no report yet", now)
        if spec.max_age_s is not None and now - status.at > spec.max_age_s:
            return ComponentStatus(False, f"no report for {now - status.at:.1f} s (limit {spec.max_age_s:g} s)",
                                   status.at)
        return status

    def alive(self) -> bool:
        """Every critical component that counts for the watchdog is ok: the systemd watchdog may be pinged."""
        return all(self.component(name).ok for name, spec in self._components.items() if spec.watchdog)

    def snapshot(self) -> dict[str, Any]:
        """The ``/healthz`` document."""
        components = {}
        for name, spec in self._components.items():
            status = self.component(name)
            components[name] = {"ok": status.ok, "critical": spec.critical, "detail": status.detail}
        return {"ok": all(c["ok"] for c in components.values()), "alive": self.alive(), "components": components}
