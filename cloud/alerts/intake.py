"""Alerts from ingested records: gateway alarms, detectors reporting calibration due, sessions run under a
permit outside its work window. Called by the ingest path with records just stored (never twice)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.alerts.lifecycle import NewAlert, advance, by_source_key, open_alert
from cloud.alerts.models import AlertKind, AlertState
from cloud.permits.models import Permit
from cloud.registry.space_names import SpaceResolver
from cloud.sessions.intake import ENDED_STATES
from cloud.telemetry.sink import Origin
from cloud.wiretime import from_ms
from protocols.uplink.records import AlarmRecord, SessionRecord, TelemetryRecord

CALIBRATION_FLAG = "calibration_due"
# Alarm steps as alert states; "muted" and "mute_expired" change the siren, not the alert.
_ALARM_STATES = {"raised": AlertState.RAISED, "acknowledged": AlertState.ACKNOWLEDGED,
                 "cleared": AlertState.RESOLVED}


def alarm_key(gateway_id: str, alarm_id: str) -> str:
    return f"alarm:{gateway_id}:{alarm_id}"


def _alarm_title(record: AlarmRecord, place: str) -> str:
    body = record.body
    what = body.cause.replace("_", " ")
    if body.gas:
        what += f" {body.gas}"
        if body.value is not None:
            what += f" {body.value:g}{' ' + body.unit if body.unit else ''}"
    return f"level {body.level} alarm: {what} — {place}"


def apply_alarms(db: Session, origin: Origin, records: Sequence[AlarmRecord], spaces: SpaceResolver, *,
                 now: datetime) -> list[int]:
    changed: list[int] = []
    for record in records:  # seq order
        body = record.body
        at = from_ms(record.at_ms)
        state = _ALARM_STATES.get(body.state)
        by = f"gateway:{origin.gateway_id}" + (f":{body.by}" if body.by else "")
        alert = by_source_key(db, alarm_key(origin.gateway_id, body.alarm_id))
        if alert is None:
            space = spaces.space(body.space_id)
            place = space.name if space is not None else (body.space_id or origin.gateway_id)
            alert = open_alert(db, NewAlert(
                kind=AlertKind.ALARM, cause=body.cause, level=body.level, title=_alarm_title(record, place),
                enterprise_id=origin.enterprise_id, source_key=alarm_key(origin.gateway_id, body.alarm_id),
                raised_at=at, space=space, space_key=body.space_id, gateway_id=origin.gateway_id,
                alarm_id=body.alarm_id, session_id=body.session_id, permit_id=body.permit_id,
                detector_id=body.detector_id, data=body.model_dump(mode="json", exclude_defaults=True)),
                now=now, state=state or AlertState.RAISED, actor=by)
            if alert is not None:
                changed.append(alert.id)
            continue
        if body.state == "raised":
            # The raise reached us after a later step (batches cross): keep the earliest time, the worst level.
            alert.raised_at = min(alert.raised_at, at)
            alert.level = max(alert.level, body.level)
            alert.cause = body.cause
            alert.data = body.model_dump(mode="json", exclude_defaults=True)
            alert.updated_at = now
        if state is not None and advance(db, alert, state, at=at, by=by, now=now):
            changed.append(alert.id)
    return changed


def apply_detector_flags(db: Session, origin: Origin, records: Sequence[TelemetryRecord], spaces: SpaceResolver, *,
                         now: datetime) -> list[int]:
    """A detector whose latest reading in the batch says calibration is due gets an alert; one whose latest
    reading no longer says so has its alert resolved."""
    latest: dict[str, TelemetryRecord] = {}
    for record in records:
        latest[record.body.detector_id] = record  # seq order: the last one wins
    changed: list[int] = []
    for detector_id, record in latest.items():
        body = record.body
        due = CALIBRATION_FLAG in body.flags or any(CALIBRATION_FLAG in g.flags for g in body.gases)
        key = f"{AlertKind.CALIBRATION_OVERDUE.value}:{origin.gateway_id}:{detector_id}"
        if due:
            space = spaces.space(body.space_id)
            alert = open_alert(db, NewAlert(
                kind=AlertKind.CALIBRATION_OVERDUE, cause=CALIBRATION_FLAG, level=1,
                title=f"detector {detector_id} calibration overdue — {space.name if space else body.space_id}",
                enterprise_id=origin.enterprise_id, source_key=key, raised_at=from_ms(record.at_ms), space=space,
                space_key=body.space_id, gateway_id=origin.gateway_id, detector_id=detector_id,
                data={"detector_id": detector_id, "flags": list(body.flags)}), now=now)
        else:
            alert = by_source_key(db, key)
            if alert is not None and not advance(db, alert, AlertState.RESOLVED, at=from_ms(record.at_ms),
                                                 by=f"gateway:{origin.gateway_id}", now=now):
                alert = None
        if alert is not None:
            changed.append(alert.id)
    return changed


def check_permit_windows(db: Session, origin: Origin, records: Sequence[SessionRecord], spaces: SpaceResolver, *,
                         now: datetime) -> list[int]:
    """A session running under a permit at a time outside the permit's work window raises an alert (once)."""
    uids = {r.body.permit_id for r in records if r.body.permit_id and r.body.state not in ENDED_STATES}
    if not uids:
        return []
    permits = {p.uid: p for p in db.execute(select(Permit).where(Permit.uid.in_(uids),
                                                                 Permit.enterprise_id == origin.enterprise_id))
               .scalars()}
    changed: list[int] = []
    for record in records:
        body = record.body
        permit = permits.get(body.permit_id or "")
        at = from_ms(record.at_ms)
        if permit is None or body.state in ENDED_STATES or permit.work_start <= at <= permit.work_end:
            continue
        space = spaces.space(body.space_id)
        when = "before" if at < permit.work_start else "after"
        alert = open_alert(db, NewAlert(
            kind=AlertKind.PERMIT_OUTSIDE_WINDOW, cause="permit_outside_window", level=2,
            title=f"session {body.state} {when} its permit's work window — {space.name if space else body.space_id}",
            enterprise_id=origin.enterprise_id,
            source_key=f"{AlertKind.PERMIT_OUTSIDE_WINDOW.value}:{origin.gateway_id}:{body.session_id}",
            raised_at=at, space=space, space_key=body.space_id, gateway_id=origin.gateway_id,
            session_id=body.session_id, permit_id=body.permit_id,
            data={"state": body.state, "at": at.isoformat(), "work_start": permit.work_start.isoformat(),
                  "work_end": permit.work_end.isoformat()}), now=now)
        if alert is not None:
            changed.append(alert.id)
    return changed
