"""Cloud rules evaluated periodically by the rules worker (``cloud.alerts.worker``, one at a time across
processes; the alerts' unique keys would make a second one harmless anyway): gateways gone silent, open sessions
without gas data, unknown detectors registered since. Each rule raises what holds now and resolves what no
longer holds. Rules fed by ingested records (calibration due, permit window, refused unlocks, unknown detectors)
live in ``intake``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from cloud.alerts.lifecycle import SYSTEM, NewAlert, advance, open_alert
from cloud.alerts.models import Alert, AlertKind, AlertState
from cloud.alerts.settings import AlertSettings
from cloud.devices.models import Detector, Gateway, GatewayStatus
from cloud.registry.models import ConfinedSpace
from cloud.sessions.models import LiveSession
from cloud.telemetry.models import LatestReading


@dataclass
class RuleRun:
    raised: list[int]
    resolved: list[int]


def _open(db: Session, kind: AlertKind) -> list[Alert]:
    return list(db.execute(select(Alert).where(Alert.kind == kind, Alert.state != AlertState.RESOLVED)
                           .with_for_update()).scalars())


def gateways_offline(db: Session, *, now: datetime, settings: AlertSettings, run: RuleRun) -> None:
    cutoff = now - timedelta(seconds=settings.gateway_offline_after_s)
    silent = db.execute(select(Gateway).where(Gateway.status == GatewayStatus.ACTIVE, Gateway.last_seen_at.is_not(None),
                                              Gateway.last_seen_at < cutoff)).scalars().all()
    for gw in silent:
        assert gw.last_seen_at is not None
        alert = open_alert(db, NewAlert(
            kind=AlertKind.GATEWAY_OFFLINE, cause="gateway_offline", level=1,
            title=f"gateway {gw.id} ({gw.name}) silent since {gw.last_seen_at:%Y-%m-%d %H:%M} UTC",
            enterprise_id=gw.enterprise_id, source_key=f"{AlertKind.GATEWAY_OFFLINE.value}:{gw.id}",
            raised_at=now, gateway_id=gw.id, data={"last_seen_at": gw.last_seen_at.isoformat()}), now=now)
        if alert is not None:
            run.raised.append(alert.id)
    silent_ids = {gw.id for gw in silent}
    for alert in _open(db, AlertKind.GATEWAY_OFFLINE):
        if alert.gateway_id not in silent_ids and advance(db, alert, AlertState.RESOLVED, at=now, by=SYSTEM, now=now):
            run.resolved.append(alert.id)


def sessions_without_gas(db: Session, *, now: datetime, settings: AlertSettings, run: RuleRun) -> None:
    """An open session whose space has had no gas value for ``session_gas_silence_s`` (fail-safe: no reading
    is not a safe reading). A session younger than that is given the time to report."""
    cutoff = now - timedelta(seconds=settings.session_gas_silence_s)
    fresh = (select(func.max(LatestReading.at)).where(
        LatestReading.gateway_id == LiveSession.gateway_id, LatestReading.value.is_not(None),
        or_(LatestReading.space_key == LiveSession.space_key,
            and_(LiveSession.space_id.is_not(None), LatestReading.space_id == LiveSession.space_id)))
        .correlate(LiveSession).scalar_subquery())
    rows = db.execute(select(LiveSession, fresh).where(LiveSession.closed_at.is_(None))).all()
    silent: set[tuple[str, str]] = set()
    for session, last_reading in rows:
        if session.opened_at > cutoff or (last_reading is not None and last_reading >= cutoff):
            continue
        silent.add((session.gateway_id, session.session_id))
        space = db.get(ConfinedSpace, session.space_id) if session.space_id is not None else None
        alert = open_alert(db, NewAlert(
            kind=AlertKind.SESSION_WITHOUT_GAS, cause="no_gas_data", level=2,
            title=f"session {session.state} without gas data — {space.name if space else session.space_key}",
            enterprise_id=session.enterprise_id,
            source_key=f"{AlertKind.SESSION_WITHOUT_GAS.value}:{session.gateway_id}:{session.session_id}",
            raised_at=now, space=space, space_key=session.space_key, gateway_id=session.gateway_id,
            session_id=session.session_id, permit_id=session.permit_id,
            data={"last_reading_at": last_reading.isoformat() if last_reading else None,
                  "silence_s": settings.session_gas_silence_s}), now=now)
        if alert is not None:
            run.raised.append(alert.id)
    for alert in _open(db, AlertKind.SESSION_WITHOUT_GAS):
        if ((alert.gateway_id or "", alert.session_id or "") not in silent
                and advance(db, alert, AlertState.RESOLVED, at=now, by=SYSTEM, now=now)):
            run.resolved.append(alert.id)


def detectors_registered(db: Session, *, now: datetime, run: RuleRun) -> None:
    """An unknown-detector alert resolves once the registry knows the detector (a detector of the enterprise by
    label, or in the detector_ids of the alert's space); a person may also resolve it."""
    for alert in _open(db, AlertKind.UNKNOWN_DETECTOR):
        detector_id = alert.detector_id or ""
        known = db.execute(select(Detector.id).where(Detector.enterprise_id == alert.enterprise_id,
                                                     Detector.label == detector_id).limit(1)).first() is not None
        space = db.get(ConfinedSpace, alert.space_id) if alert.space_id is not None else None
        if (known or (space is not None and detector_id in (space.detector_ids or []))) and \
                advance(db, alert, AlertState.RESOLVED, at=now, by=SYSTEM, now=now):
            run.resolved.append(alert.id)


def evaluate(db: Session, *, now: datetime, settings: AlertSettings) -> RuleRun:
    """Run every periodic rule in ``db``'s transaction; the caller commits."""
    run = RuleRun(raised=[], resolved=[])
    gateways_offline(db, now=now, settings=settings, run=run)
    sessions_without_gas(db, now=now, settings=settings, run=run)
    detectors_registered(db, now=now, run=run)
    return run
