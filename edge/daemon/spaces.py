"""One confined space in the daemon: its gas monitor, its session and what identifies the session on record.

The runner holds the pure core objects of one space — :class:`~edge.core.gas.GasMonitor` fed by the space's
detectors, :class:`~edge.core.session.SpaceSession` sharing the gateway's :class:`~edge.core.alarms.AlarmSet` —
and the few things the records need that the core does not keep (a session id, the previous phase).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from edge.config import SpaceConfig
from edge.core.alarms import AlarmSet
from edge.core.attestation import AttestationPolicy
from edge.core.clock import Now
from edge.core.gas import GasMonitor, GasMonitorConfig, GasState, Reading
from edge.core.limits import Conditions
from edge.core.session import Phase, SessionPolicy, SpaceSession
from edge.core.session_io import Action, GasUpdate, SessionChanged
from edge.daemon.detectors import DetectorLink

IDLE_PHASES = frozenset({Phase.IDLE.value, Phase.CLOSED.value})


def session_policy(config: SpaceConfig) -> SessionPolicy:
    return SessionPolicy(overtime_warning_s=config.overtime_warning_s,
                         unauthorized_deadline_s=config.unauthorized_deadline_s,
                         attestation=AttestationPolicy(in_range_for_s=config.attestation_in_range_s,
                                                       validity_s=config.attestation_validity_s))


class SpaceRunner:
    """The core objects of one space plus the session's identity on record."""

    def __init__(self, config: SpaceConfig, alarms: AlarmSet, detectors: Sequence[DetectorLink], now: Now) -> None:
        self.config = config
        self.id = config.id
        self.detectors = list(detectors)
        self.limits = config.gas_limits()
        interval = max((d.config.poll_interval_s for d in self.detectors), default=1.0)
        self.monitor = GasMonitor(config.id, self.limits, now.mono, GasMonitorConfig(
            poll_interval_s=interval, stale_after_polls=config.stale_after_polls,
            conditions=Conditions(config.temperature_c, config.pressure_kpa), lel_pct_vol=config.lel_pct_vol))
        self.policy = session_policy(config)
        self.session = SpaceSession(config.id, alarms, self.policy)
        self.session_id: str | None = None
        self.phase: str = self.session.phase.value
        self.last_state: GasState | None = None

    def observe(self, readings: Sequence[Reading]) -> None:
        for reading in readings:
            self.monitor.observe(reading)

    def gas_update(self, now: Now) -> GasUpdate:
        self.last_state = self.monitor.evaluate(now.mono)
        return GasUpdate(self.last_state, tuple(d.health(now) for d in self.detectors))

    def session_step(self, change: SessionChanged) -> tuple[str, str | None]:
        """The session id a step is recorded under, and the phase before it; a new id when a session begins."""
        previous = self.phase
        if self.session_id is None or (previous in IDLE_PHASES and change.phase not in IDLE_PHASES):
            self.session_id = f"s-{self.id[:16]}-{change.at}"
        self.phase = change.phase
        return self.session_id, previous

    def session_ended(self) -> None:
        if self.phase in IDLE_PHASES:
            self.session_id = None

    def snapshot(self) -> dict[str, Any]:
        return {"session": self.session.snapshot(), "session_id": self.session_id, "phase": self.phase}

    def restore(self, data: Mapping[str, Any], alarms: AlarmSet, now: Now) -> list[Action]:
        """Resume the persisted session; the returned actions include a deadline missed while down."""
        self.session, actions = SpaceSession.restore(data["session"], alarms, now, self.policy)
        self.session_id = data.get("session_id")
        self.phase = data.get("phase", self.session.phase.value)
        return actions
