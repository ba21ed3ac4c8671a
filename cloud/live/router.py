"""HTTP endpoint of live operations."""

from __future__ import annotations

from fastapi import APIRouter, Response

from cloud.auth.deps import CurrentUser
from cloud.deps import DbSession, Limit, Now, Offset
from cloud.live import service
from cloud.live.schemas import LiveSessionOut
from cloud.schemas import ERROR_RESPONSES, Page, QueryId, json_of

router = APIRouter(prefix="/api/v1", tags=["live operations"], responses=ERROR_RESPONSES)


@router.get("/live/sessions", response_model=Page[LiveSessionOut])
def live_sessions(actor: CurrentUser, db: DbSession, now: Now,
                  district_id: QueryId = None,
                  enterprise_id: QueryId = None,
                  space_id: QueryId = None,
                  limit: Limit = 100, offset: Offset = 0) -> Response:
    """Open confined-space sessions in the caller's scope with their latest gas readings, timers and open
    alarms, oldest first."""
    items, total = service.open_sessions(db, actor=actor, now=now, district_id=district_id,
                                         enterprise_id=enterprise_id, space_id=space_id, limit=limit, offset=offset)
    return json_of(Page[LiveSessionOut](items=items, total=total, limit=limit, offset=offset))
