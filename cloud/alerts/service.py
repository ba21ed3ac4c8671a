"""Alerts as users see and handle them: scoped queries (an alert is visible where its enterprise is) and the
acknowledge / resolve actions, audited. Acknowledging a gateway's alarm sends it a signed ``alarm_ack``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.alerts.lifecycle import advance
from cloud.alerts.models import Alert, AlertEvent, AlertKind, AlertState
from cloud.audit.service import record
from cloud.auth.roles import Principal
from cloud.db.base import snapshot
from cloud.db.paging import fetch_page
from cloud.downlink.service import enqueue_command
from cloud.errors import Conflict
from cloud.registry.models import Enterprise
from cloud.scope import enterprises_filter, owned_query
from cloud.wiretime import to_ms


def list_alerts(db: Session, *, actor: Principal, district_id: int | None = None, enterprise_id: int | None = None,
                space_id: int | None = None, gateway_id: str | None = None, state: AlertState | None = None,
                kind: AlertKind | None = None, since: datetime | None = None, until: datetime | None = None,
                limit: int, offset: int) -> tuple[list[Alert], int]:
    stmt = owned_query(Alert, actor)
    for column, value in ((Enterprise.district_id, district_id), (Alert.enterprise_id, enterprise_id),
                          (Alert.space_id, space_id), (Alert.gateway_id, gateway_id), (Alert.state, state),
                          (Alert.kind, kind)):
        if value is not None:
            stmt = stmt.where(column == value)
    if since is not None:
        stmt = stmt.where(Alert.raised_at >= since)
    if until is not None:
        stmt = stmt.where(Alert.raised_at < until)
    # ORDER BY accumulates: newest first, ties by id.
    return fetch_page(db, stmt.order_by(Alert.raised_at.desc()), order_by=Alert.id.desc(), limit=limit,
                      offset=offset)


def acknowledge(db: Session, *, actor: Principal, alert: Alert, note: str | None, now: datetime) -> Alert:
    """``alert`` was read ``FOR UPDATE`` (``cloud.scope.in_scope(..., lock=True)``)."""
    if alert.state is not AlertState.RAISED:
        raise Conflict(f"the alert is already {alert.state.value}", code="wrong_state", field="state")
    before = snapshot(alert)
    advance(db, alert, AlertState.ACKNOWLEDGED, at=now, by=actor.username, by_id=actor.user_id, now=now, note=note)
    if alert.kind is AlertKind.ALARM and alert.gateway_id and alert.alarm_id:
        _send_alarm_ack(db, alert, by=actor.username, note=note, now=now)
    db.flush()
    record(db, actor=actor, action="alert.acknowledge", entity="alert", entity_id=alert.id, now=now, before=before,
           after=snapshot(alert))
    return alert


def resolve(db: Session, *, actor: Principal, alert: Alert, note: str | None, now: datetime) -> Alert:
    """``alert`` was read ``FOR UPDATE`` (``cloud.scope.in_scope(..., lock=True)``)."""
    if alert.state is not AlertState.ACKNOWLEDGED:
        message = "acknowledge the alert first" if alert.state is AlertState.RAISED else "the alert is resolved"
        raise Conflict(message, code="wrong_state", field="state")
    before = snapshot(alert)
    advance(db, alert, AlertState.RESOLVED, at=now, by=actor.username, by_id=actor.user_id, now=now, note=note)
    db.flush()
    record(db, actor=actor, action="alert.resolve", entity="alert", entity_id=alert.id, now=now, before=before,
           after=snapshot(alert))
    return alert


def _send_alarm_ack(db: Session, alert: Alert, *, by: str, note: str | None, now: datetime) -> None:
    """The gateway latches the alarm until acknowledged: tell it, signed, on its down channel."""
    assert alert.gateway_id is not None and alert.alarm_id is not None
    body: dict[str, object] = {"alarm_id": alert.alarm_id, "by": by[:200], "at_ms": to_ms(now)}
    if alert.space_key:
        body["space_id"] = alert.space_key
    if note:
        body["note"] = note[:200]
    enqueue_command(db, gateway_id=alert.gateway_id, kind="alarm_ack", body=body, now=now)


def feed(db: Session, *, actor: Principal, after: int, limit: int) -> list[tuple[AlertEvent, Alert]]:
    """Alert events visible to ``actor`` after event ``after``, oldest first (the in-app feed)."""
    rows = db.execute(select(AlertEvent, Alert).join(Alert, AlertEvent.alert_id == Alert.id)
                      .join(Enterprise, Alert.enterprise_id == Enterprise.id)
                      .where(enterprises_filter(actor), AlertEvent.id > after)
                      .order_by(AlertEvent.id).limit(limit)).all()
    return [(event, alert) for event, alert in rows]
