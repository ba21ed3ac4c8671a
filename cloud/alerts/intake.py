"""Alerts from ingested records: gateway alarms, detectors reporting calibration due, sessions run under a
permit outside its work window, repeated refused unlocks at a padlock, readings from detectors the registry does
not know, acknowledgements the gateway refused. Called by the ingest path with records just stored (never
twice)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.alerts.lifecycle import NewAlert, add_event, advance, by_source_key, open_alert, reopen
from cloud.alerts.models import Alert, AlertKind, AlertState
from cloud.alerts.settings import AlertSettings
from cloud.devices.models import Detector, Padlock
from cloud.downlink.results import Refusal
from cloud.permits.models import Permit
from cloud.registry.models import ConfinedSpace
from cloud.registry.space_names import SpaceResolver
from cloud.sessions.intake import ENDED_STATES
from cloud.telemetry.sink import GasValue, Origin
from cloud.wiretime import from_ms, to_ms
from protocols.commands import AlarmAck
from protocols.uplink.records import AlarmRecord, LockAuditRecord, SessionRecord, TelemetryRecord

CALIBRATION_FLAG = "calibration_due"
#: A gateway's alarm is over once it has been both acknowledged and cleared there, in either order (it latches
#: until a person acknowledges it: ``edge.core.alarms``); "muted" and "mute_expired" change the siren, not the alert.
CLOSING_STEPS = frozenset({"acknowledged", "cleared"})
CLEARED_DETAIL = ("报警条件已消除，仍待确认 / the condition has cleared; the alarm stays latched until a person "
                  "acknowledges it")

#: The steps (``raised``, ``acknowledged``, ``cleared`` …) the gateway's stored alarm records show for each of the
#: given alarm ids, this batch's included (the stored records belong to ingestion, which passes this in).
AlarmSteps = Callable[[Collection[str]], dict[str, set[str]]]


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


def _alarm_state(step: str, steps: set[str]) -> AlertState | None:
    """The alert state an alarm record's step moves to, given every step the gateway recorded for the alarm:
    resolved once acknowledged and cleared; ``cleared`` alone (not acknowledged yet, still latched) moves
    nothing."""
    if step in CLOSING_STEPS and steps >= CLOSING_STEPS:
        return AlertState.RESOLVED
    return {"raised": AlertState.RAISED, "acknowledged": AlertState.ACKNOWLEDGED}.get(step)


def apply_alarms(db: Session, origin: Origin, records: Sequence[AlarmRecord], spaces: SpaceResolver, *,
                 now: datetime, recorded: AlarmSteps) -> list[int]:
    changed: list[int] = []
    closing = {r.body.alarm_id for r in records if r.body.state in CLOSING_STEPS}
    steps = recorded(closing) if closing else {}
    for record in records:  # seq order
        body = record.body
        at = from_ms(record.at_ms)
        state = _alarm_state(body.state, steps.get(body.alarm_id, set()) | {body.state})
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
        if body.state == "acknowledged" and state is AlertState.RESOLVED:
            # Acknowledged after the clear: the acknowledgement is a step of its own (who and when), then the end.
            advance(db, alert, AlertState.ACKNOWLEDGED, at=at, by=by, now=now)
        if state is not None and advance(db, alert, state, at=at, by=by, now=now):
            changed.append(alert.id)
        elif body.state == "cleared" and state is None and alert.state is not AlertState.RESOLVED:
            add_event(db, alert.id, "cleared", at=now, actor=by, detail=CLEARED_DETAIL)  # acknowledge it now
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


REFUSED_EVENT = "unlock_refused"  # protocols.padlock.events.EventKind.UNLOCK_REFUSED as the gateway names it
UNKNOWN_DETECTOR_FLAG = "unknown_detector"


#: How many refused unlocks the gateway's stored audit records show at one padlock in ``(since, until]``: the
#: stored records belong to ingestion, which passes this in (alerts never import ingest: it imports alerts).
RefusalCounter = Callable[[str, datetime, datetime], int]


def check_refused_unlocks(db: Session, origin: Origin, records: Sequence[LockAuditRecord], *, now: datetime,
                          settings: AlertSettings, count_refused: RefusalCounter) -> list[int]:
    """``settings.refused_unlocks`` refused unlocks at one padlock within ``refused_unlocks_window_s`` (by the
    times they happened, so a burst reported late still counts) raise one alert per padlock, open until a person
    resolves it. Only a batch bringing a new refusal looks, through the partial index of audit records."""
    window = timedelta(seconds=settings.refused_unlocks_window_s)
    newest: dict[str, datetime] = {}
    for record in records:
        if record.body.event == REFUSED_EVENT:
            at = from_ms(record.at_ms)
            newest[record.body.lock_id] = max(at, newest.get(record.body.lock_id, at))
    changed: list[int] = []
    for lock_id, last in newest.items():
        refused = count_refused(lock_id, last - window, last)
        if refused < settings.refused_unlocks:
            continue
        padlock = db.execute(select(Padlock).where(Padlock.lock_id == lock_id,
                                                   Padlock.enterprise_id == origin.enterprise_id)).scalar_one_or_none()
        space = db.get(ConfinedSpace, padlock.space_id) if padlock is not None else None
        name = padlock.label if padlock is not None else lock_id
        alert = open_alert(db, NewAlert(
            kind=AlertKind.REFUSED_UNLOCKS, cause=REFUSED_EVENT, level=1,
            title=f"{refused} refused unlocks at padlock {name} within {int(window.total_seconds()) // 60} min"
                  + (f" — {space.name}" if space is not None else ""),
            enterprise_id=origin.enterprise_id,
            source_key=f"{AlertKind.REFUSED_UNLOCKS.value}:{origin.gateway_id}:{lock_id}", raised_at=last,
            space=space, gateway_id=origin.gateway_id,
            data={"lock_id": lock_id, "refused": refused, "window_s": settings.refused_unlocks_window_s,
                  "last_at": last.isoformat(), "registered": padlock is not None}), now=now)
        if alert is not None:
            changed.append(alert.id)
    return changed


def unknown_detectors(db: Session, origin: Origin, values: Sequence[GasValue], spaces: SpaceResolver) -> set[str]:
    """Detector ids among ``values`` the registry does not know for the sender's enterprise: neither a detector
    (by label) of the enterprise nor listed in the ``detector_ids`` of the space the reading names."""
    ids = {v.detector_id for v in values}
    registered = set(db.execute(select(Detector.label).where(Detector.enterprise_id == origin.enterprise_id,
                                                             Detector.label.in_(ids))).scalars())
    unknown: set[str] = set()
    for v in values:
        if v.detector_id in registered or v.detector_id in unknown:
            continue
        space = spaces.space(v.space_key)
        if space is None or v.detector_id not in (space.detector_ids or []):
            unknown.add(v.detector_id)
    return unknown


def flag_unknown_detectors(db: Session, origin: Origin, values: list[GasValue], spaces: SpaceResolver, *,
                           now: datetime) -> tuple[list[GasValue], list[int]]:
    """Readings of detectors the registry does not know are stored all the same (a reading is never dropped),
    flagged ``unknown_detector``, and each such detector raises one alert (open until resolved)."""
    unknown = unknown_detectors(db, origin, values, spaces)
    if not unknown:
        return values, []
    flagged = [v._replace(flags=[*(v.flags or []), UNKNOWN_DETECTOR_FLAG]) if v.detector_id in unknown else v
               for v in values]
    changed: list[int] = []
    for detector_id in sorted(unknown):
        first = next(v for v in values if v.detector_id == detector_id)
        space = spaces.space(first.space_key)
        alert = open_alert(db, NewAlert(
            kind=AlertKind.UNKNOWN_DETECTOR, cause=UNKNOWN_DETECTOR_FLAG, level=1,
            title=f"readings from unregistered detector {detector_id} — {space.name if space else first.space_key}",
            enterprise_id=origin.enterprise_id,
            source_key=f"{AlertKind.UNKNOWN_DETECTOR.value}:{origin.gateway_id}:{detector_id}",
            raised_at=from_ms(first.at_ms), space=space, space_key=first.space_key, gateway_id=origin.gateway_id,
            detector_id=detector_id, data={"detector_id": detector_id, "space_key": first.space_key}), now=now)
        if alert is not None:
            changed.append(alert.id)
    return flagged, changed


#: Why the gateway refused an acknowledgement, as the sender reads it (``protocols/uplink.md`` §5.3).
ACK_REFUSAL_REASONS = {
    "gas_present": "网关拒绝确认：气体仍超标，恢复正常后再确认 / the gateway refused the acknowledgement: "
                   "gas still present; acknowledge again once it is back in range",
    "space_not_confirmed": "网关拒绝确认：监护人尚未在现场确认空间内无人 / the gateway refused the acknowledgement: "
                           "the attendant has not confirmed the space empty at the hatch",
    "unknown_alarm": "网关拒绝确认：网关上没有这个未关闭的报警 / the gateway refused the acknowledgement: it has no "
                     "open alarm with this id",
    "unsupported": "网关不支持远程确认 / the gateway does not take remote acknowledgements",
    "failed": "网关执行确认时出错 / the gateway failed to carry out the acknowledgement",
    "expired": "确认指令到达网关时已过期 / the acknowledgement reached the gateway after it expired",
}


def ack_refusal_reason(code: str) -> str:
    return ACK_REFUSAL_REASONS.get(code, f"网关拒绝确认（{code}）/ the gateway refused the acknowledgement ({code})")


def _carried(alert: Alert, ack: AlarmAck) -> bool:
    """Whether the alert's acknowledgement is the one ``ack`` carried (same person, same instant)."""
    return (alert.acknowledged_at is not None and to_ms(alert.acknowledged_at) == ack.body.at_ms
            and alert.acknowledged_by == ack.body.by[:64])


def apply_ack_refusals(db: Session, origin: Origin, refusals: Sequence[Refusal], *, now: datetime,
                       recorded: AlarmSteps) -> list[int]:
    """An ``alarm_ack`` the gateway refused reopens the alert it acknowledged (``cloud.alerts.lifecycle.reopen``),
    so the sender sees why and can acknowledge again — unless the alert has moved on without it: acknowledged
    again since, or acknowledged by the gateway itself (a person at the hatch: the gateway's word stands,
    whatever order the records arrive in)."""
    changed: list[int] = []
    for refusal in refusals:
        ack = refusal.command
        if not isinstance(ack, AlarmAck):
            continue
        alert = by_source_key(db, alarm_key(origin.gateway_id, ack.body.alarm_id))
        if (alert is None or alert.state is AlertState.RAISED or not _carried(alert, ack)
                or "acknowledged" in recorded([ack.body.alarm_id]).get(ack.body.alarm_id, set())):
            continue
        reason = ack_refusal_reason(refusal.result)
        reopen(db, alert, by=f"gateway:{origin.gateway_id}", now=now, code=refusal.result, reason=reason,
               refusal={"at": refusal.at.isoformat(), "counter": refusal.row.counter,
                        "acknowledged_by": alert.acknowledged_by})
        changed.append(alert.id)
    return changed
