"""HTTP endpoints of the supervision schedule: plan a period, set an enterprise's frequency, list patrol tasks."""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, Response
from sqlalchemy import func, select

from cloud.auth.deps import CurrentUser, allowed
from cloud.auth.policy import Action
from cloud.auth.roles import Principal
from cloud.db.paging import fetch_page
from cloud.deps import DbSession, Limit, Now, Offset, Settings
from cloud.registry.models import Enterprise
from cloud.schedule import service as svc
from cloud.schedule.models import PatrolTask
from cloud.schedule.plan import Frequency
from cloud.schedule.schemas import FrequencyOut, FrequencySet, PatrolTaskOut, PlanRequest, PlanRunOut
from cloud.schemas import ERROR_RESPONSES, Page, QueryId, page_of
from cloud.scope import ENTERPRISE, in_scope

router = APIRouter(prefix="/api/v1", tags=["schedule"], responses=ERROR_RESPONSES)
Planner = Annotated[Principal, allowed(Action.SCHEDULE_MANAGE)]
PlannedEnterprise = Annotated[Enterprise, in_scope(ENTERPRISE, action=Action.SCHEDULE_MANAGE)]


@router.post("/schedule/runs", response_model=PlanRunOut, status_code=201)
def plan_period(body: PlanRequest, actor: Planner, db: DbSession, now: Now, settings: Settings) -> PlanRunOut:
    """Plan patrol tasks for the period for every enterprise in your scope (计划巡查任务). The run keeps its seed
    and the "general" enterprises it drew, so the draw can be checked and repeated."""
    seed = body.seed if body.seed is not None else secrets.randbelow(2**62)
    rate = body.sample_rate if body.sample_rate is not None else settings.schedule.sample_rate
    row = svc.plan_period(db, actor=actor, start=body.start, end=body.end, seed=seed, sample_rate=rate,
                          default=Frequency(settings.schedule.default_frequency), now=now)
    db.commit()
    return PlanRunOut.model_validate(row)


@router.put("/enterprises/{enterprise_id}/frequency", response_model=FrequencyOut)
def set_frequency(body: FrequencySet, enterprise: PlannedEnterprise, actor: Planner, db: DbSession,
                  now: Now) -> FrequencyOut:
    """Set the enterprise's supervision frequency (监管频次) and re-plan its open future tasks, up to the last
    one planned; done tasks and tasks whose window has started stay as they are."""
    last_due = db.execute(select(func.max(PatrolTask.due)).where(PatrolTask.enterprise_id == enterprise.id)
                          ).scalar_one_or_none()
    today = now.date()
    cancelled, added = svc.set_frequency(db, actor=actor, enterprise=enterprise, frequency=body.frequency,
                                         today=today, horizon_end=max(last_due or today, today), now=now)
    db.commit()
    return FrequencyOut(enterprise_id=enterprise.id, frequency=body.frequency, cancelled=cancelled, added=added)


@router.get("/patrol-tasks", response_model=Page[PatrolTaskOut])
def list_tasks(actor: CurrentUser, db: DbSession, grid_id: QueryId = None, enterprise_id: QueryId = None,
               status: Literal["open", "done", "cancelled"] | None = None, limit: Limit = 100,
               offset: Offset = 0) -> Response:
    """Patrol tasks inside your scope: a grid officer their grids', a supervisor their area's."""
    stmt = select(PatrolTask).where(svc.tasks_filter(actor))
    if grid_id is not None:
        stmt = stmt.where(PatrolTask.grid_id == grid_id)
    if enterprise_id is not None:
        stmt = stmt.where(PatrolTask.enterprise_id == enterprise_id)
    if status is not None:
        stmt = stmt.where(PatrolTask.status == status)
    rows, total = fetch_page(db, stmt, order_by=PatrolTask.id, limit=limit, offset=offset)
    return page_of(PatrolTaskOut, rows, total=total, limit=limit, offset=offset)
