"""Raising alerts and moving them along raised → acknowledged → resolved, each step an event (the feed and the
notification outbox). Shared by the ingest path, the rules and the API; no HTTP and no authorization here.

The transitions, and who makes them:

- raised → acknowledged → resolved (``advance``): people through the API, the gateway's own alarm records, the
  rules. Forward only, whatever order the records that move an alert arrive in. A gateway's alarm resolves its
  alert once the gateway has recorded it both acknowledged and cleared (it latches until a person acknowledges
  it); ``cleared`` alone leaves the state and adds a ``cleared`` event: acknowledge it now.
- acknowledged (or resolved by a person) → raised (``reopen``, event ``ack_refused``): only when the gateway
  refused the acknowledgement the cloud sent it for this alert (``cloud.alerts.intake.apply_ack_refusals``): the
  gateway's alarm is still latched, so the alert must be handled again. The one way back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.alerts.models import STATE_RANK, Alert, AlertEvent, AlertKind, AlertState
from cloud.db.upsert import insert_ignoring_duplicates
from cloud.registry.models import ConfinedSpace

SYSTEM = "system"
#: Conditions that can come and go: their key is released on resolution. Alarms and permit-window breaches
#: are single facts and keep theirs, so a late record finds the alert it belongs to.
RECURRING = frozenset({AlertKind.GATEWAY_OFFLINE, AlertKind.CALIBRATION_OVERDUE, AlertKind.SESSION_WITHOUT_GAS})


@dataclass
class NewAlert:
    kind: AlertKind
    cause: str
    level: int
    title: str
    enterprise_id: int
    source_key: str
    raised_at: datetime
    space: ConfinedSpace | None = None
    space_key: str | None = None
    gateway_id: str | None = None
    alarm_id: str | None = None
    session_id: str | None = None
    permit_id: str | None = None
    detector_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


ACK_REFUSED = "ack_refused"


def add_event(db: Session, alert_id: int, event: str, *, at: datetime, actor: str, code: str | None = None,
              detail: str | None = None) -> None:
    db.add(AlertEvent(alert_id=alert_id, event=event, at=at, actor=actor[:64], code=code,
                      detail=detail[:300] if detail else None, delivered=False, attempts=0))


def open_alert(db: Session, new: NewAlert, *, now: datetime, state: AlertState = AlertState.RAISED,
               actor: str = SYSTEM) -> Alert | None:
    """Insert the alert unless one holds its ``source_key`` (then ``None``): safe with many workers at once."""
    space = new.space
    ids = insert_ignoring_duplicates(db, Alert.__table__, [{
        "kind": new.kind, "state": AlertState.RAISED, "level": new.level, "cause": new.cause,
        "title": new.title[:200], "source_key": new.source_key, "enterprise_id": new.enterprise_id,
        "space_id": space.id if space is not None else None, "gateway_id": new.gateway_id,
        "space_key": new.space_key, "alarm_id": new.alarm_id, "session_id": new.session_id,
        "permit_id": new.permit_id, "detector_id": new.detector_id, "data": new.data,
        "rescue_card": space.rescue_card if space is not None else None, "raised_at": new.raised_at,
        "updated_at": now}], returning=Alert.id)
    if not ids:
        return None
    alert = db.get(Alert, ids[0])
    assert alert is not None
    add_event(db, alert.id, "raised", at=now, actor=actor)
    if state is not AlertState.RAISED:
        advance(db, alert, state, at=new.raised_at, by=actor, now=now)
    return alert


def by_source_key(db: Session, key: str) -> Alert | None:
    return db.execute(select(Alert).where(Alert.source_key == key).with_for_update()).scalar_one_or_none()


def advance(db: Session, alert: Alert, state: AlertState, *, at: datetime, by: str, now: datetime,
            by_id: int | None = None, note: str | None = None) -> bool:
    """Move ``alert`` forward to ``state`` (never back); False when it is already there or beyond."""
    if STATE_RANK[state] <= STATE_RANK[alert.state]:
        return False
    if state is AlertState.ACKNOWLEDGED:
        alert.acknowledged_at, alert.acknowledged_by, alert.acknowledged_by_id = at, by[:64], by_id
    else:
        alert.resolved_at, alert.resolved_by, alert.resolved_by_id = at, by[:64], by_id
        if alert.kind in RECURRING:
            alert.source_key = None  # the condition may come back: let it raise a new alert
    if note is not None:
        alert.note = note
    alert.state = state
    alert.refusal = None  # moved on: a refusal before is history (its event keeps it)
    alert.updated_at = now
    add_event(db, alert.id, state.value, at=now, actor=by)
    return True


def reopen(db: Session, alert: Alert, *, by: str, now: datetime, code: str, reason: str,
           refusal: dict[str, Any]) -> None:
    """Put an alert whose acknowledgement the gateway refused back to raised, saying why (``code``, the
    bilingual ``reason``), on the alert (``refusal``) and in an ``ack_refused`` event (feed, notifications)."""
    alert.state = AlertState.RAISED
    alert.acknowledged_at = alert.acknowledged_by = alert.acknowledged_by_id = None
    alert.resolved_at = alert.resolved_by = alert.resolved_by_id = None
    alert.refusal = {"code": code, "reason": reason, **refusal}
    alert.updated_at = now
    add_event(db, alert.id, ACK_REFUSED, at=now, actor=by, code=code, detail=reason)
