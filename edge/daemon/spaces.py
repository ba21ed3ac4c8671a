"""One confined space in the daemon: its gas monitor, its session and what identifies the session on record.

The runner holds the pure core objects of one space — :class:`~edge.core.gas.GasMonitor` fed by the space's
detectors, :class:`~edge.core.session.SpaceSession` sharing the gateway's :class:`~edge.core.alarms.AlarmSet` —
and the few things the records need that the core does not keep (a session id, the previous phase).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import structlog

from edge.config import SpaceConfig
from edge.core.alarms import AlarmSet
from edge.core.attestation import AttestationPolicy
from edge.core.clock import Now
from edge.core.gas import GasMonitor, GasMonitorConfig, GasState, Reading
from edge.core.limits import Conditions
from edge.core.session import Phase, SessionPolicy, SpaceSession
from edge.core.session_io import Action, GasUpdate, SessionChanged
from edge.daemon.detectors import DetectorLink
from safegrid.files import write_private_file

log = structlog.get_logger(__name__)

IDLE_PHASES = frozenset({Phase.IDLE.value, Phase.CLOSED.value})
EXPOSURE_VERSION = 1


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

    def exposure_snapshot(self, now: Now) -> dict[str, Any]:
        """The monitor's STEL/TWA windows, for ``exposure.json`` (kept apart from the session state)."""
        return self.monitor.snapshot_exposure(now.mono, now.wall)

    def restore_exposure(self, data: Mapping[str, Any], now: Now) -> list[str]:
        """Refill the STEL/TWA windows saved before a restart (before the first reading); the windows restored."""
        return self.monitor.restore_exposure(data, now.mono, now.wall)

    def restore(self, data: Mapping[str, Any], alarms: AlarmSet, now: Now) -> list[Action]:
        """Resume the persisted session; the returned actions include a deadline missed while down."""
        self.session, actions = SpaceSession.restore(data["session"], alarms, now, self.policy)
        self.session_id = data.get("session_id")
        self.phase = data.get("phase", self.session.phase.value)
        return actions


def save_exposure(path: Path, runners: Mapping[str, SpaceRunner], now: Now) -> None:
    """The STEL/TWA windows of every space into ``path`` (atomic), so that a restart mid-shift does not forget the
    exposure so far. The daemon saves them every ledger summary and on stop, not on every poll (the file would be
    rewritten every second: SD-card wear); a crash loses at most that interval of exposure. A failure is logged:
    this is not safety state — the alarms and the session are in state.json."""
    try:
        data = {"version": EXPOSURE_VERSION, "saved_at": now.wall,
                "spaces": {sid: r.exposure_snapshot(now) for sid, r in runners.items()}}
        write_private_file(path, json.dumps(data, separators=(",", ":")).encode())
    except Exception:
        log.exception("exposure snapshot not saved", path=str(path))


def restore_exposure(path: Path, runners: Mapping[str, SpaceRunner], now: Now) -> None:
    """Refill the spaces' STEL/TWA windows from ``path``, before their first reading. A missing, unreadable or
    corrupt file is logged and ignored: unlike state.json, losing it costs the averages their memory of the time
    before the restart, not a latched alarm or a session, and must not keep the gas monitoring from starting."""
    try:
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or data.get("version") != EXPOSURE_VERSION or not isinstance(
                data.get("spaces"), dict):
            raise ValueError(f"not an exposure file of version {EXPOSURE_VERSION}")
    except FileNotFoundError:
        return
    except (OSError, ValueError) as exc:
        log.warning("exposure snapshot ignored", path=str(path), error=str(exc))
        return
    for sid, runner in runners.items():
        saved = data["spaces"].get(sid)
        if saved is None:
            continue
        try:
            restored = runner.restore_exposure(saved, now)
        except Exception as exc:  # whatever is wrong with it, the space starts with empty windows
            log.warning("exposure snapshot ignored", path=str(path), space=sid, error=repr(exc))
            continue
        log.info("exposure restored", space=sid, windows=restored, saved_at=data.get("saved_at"))
