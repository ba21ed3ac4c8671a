"""HTTP endpoints of alerts: scoped queries, the in-app feed, acknowledge and resolve."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from cloud.alerts import service
from cloud.alerts.models import Alert, AlertKind, AlertState
from cloud.alerts.schemas import AlertAction, AlertEventOut, AlertFeed, AlertOut
from cloud.auth.deps import CurrentUser, allowed
from cloud.auth.policy import Action
from cloud.auth.roles import Principal
from cloud.deps import DbSession, Limit, Now, Offset
from cloud.schemas import ERROR_RESPONSES, MAX_ID, ErrorBody, Page, QueryId, json_of, page_of
from cloud.scope import ALERT, VisibleAlert, in_scope

router = APIRouter(prefix="/api/v1", tags=["alerts"], responses=ERROR_RESPONSES)
AlertHandler = Annotated[Principal, allowed(Action.ALERT_HANDLE)]
HandledAlert = Annotated[Alert, in_scope(ALERT, action=Action.ALERT_HANDLE, lock=True)]
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "the alert is not in a state that allows this"},
}


@router.get("/alerts", response_model=Page[AlertOut])
def list_alerts(actor: CurrentUser, db: DbSession,
                district_id: QueryId = None,
                enterprise_id: QueryId = None,
                space_id: QueryId = None,
                gateway_id: Annotated[str | None, Query(max_length=64)] = None,
                state: AlertState | None = None, kind: AlertKind | None = None,
                since: Annotated[datetime | None, Query(description="raised at or after (ISO 8601 with zone)")] = None,
                until: Annotated[datetime | None, Query(description="raised before")] = None,
                limit: Limit = 100, offset: Offset = 0) -> Response:
    """Alerts in the caller's scope, newest first, filtered by district, enterprise, space, gateway, state,
    kind and time."""
    rows, total = service.list_alerts(db, actor=actor, district_id=district_id, enterprise_id=enterprise_id,
                                      space_id=space_id, gateway_id=gateway_id, state=state, kind=kind, since=since,
                                      until=until, limit=limit, offset=offset)
    return page_of(AlertOut, rows, total=total, limit=limit, offset=offset)


@router.get("/alerts/feed", response_model=AlertFeed)
def alert_feed(actor: CurrentUser, db: DbSession, after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
               limit: Limit = 100) -> Response:
    """The in-app feed: every raise, acknowledgement and resolution in the caller's scope after event `after`, and
    every acknowledgement the gateway refused (`ack_refused`, with its `code` and `detail`)."""
    rows = service.feed(db, actor=actor, after=after, limit=limit)
    items = [AlertEventOut(id=e.id, alert_id=e.alert_id, event=e.event, at=e.at, actor=e.actor, code=e.code,
                           detail=e.detail, alert=AlertOut.model_validate(a)) for e, a in rows]
    return json_of(AlertFeed(items=items, next_after=items[-1].id if items else after))


@router.get("/alerts/{alert_id}", response_model=AlertOut)
def read_alert(alert: VisibleAlert) -> AlertOut:
    return AlertOut.model_validate(alert)


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut, responses=_CONFLICT)
def acknowledge_alert(alert: HandledAlert, body: AlertAction, actor: AlertHandler, db: DbSession, now: Now) -> AlertOut:
    """Acknowledge a raised alert. For a gateway's alarm, a signed `alarm_ack` command goes to the gateway."""
    alert = service.acknowledge(db, actor=actor, alert=alert, note=body.note, now=now)
    db.commit()
    return AlertOut.model_validate(alert)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertOut, responses=_CONFLICT)
def resolve_alert(alert: HandledAlert, body: AlertAction, actor: AlertHandler, db: DbSession, now: Now) -> AlertOut:
    """Resolve an acknowledged alert."""
    alert = service.resolve(db, actor=actor, alert=alert, note=body.note, now=now)
    db.commit()
    return AlertOut.model_validate(alert)
