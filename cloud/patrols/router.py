"""HTTP endpoints of patrol records: offline sync (idempotent by the phone's UUID), lists, conflicts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from sqlalchemy import select

from cloud.auth.deps import CurrentUser, allowed
from cloud.auth.policy import Action
from cloud.auth.roles import Principal
from cloud.db.paging import fetch_page
from cloud.deps import DbSession, Limit, Now, Offset
from cloud.patrols import service as svc
from cloud.patrols.models import PatrolConflict, PatrolRecord
from cloud.patrols.schemas import EXAMPLE_ID, UUID_PATTERN, PatrolConflictOut, PatrolRecordIn, PatrolRecordOut
from cloud.patrols.sync import Outcome
from cloud.schemas import ERROR_RESPONSES, ErrorBody, Page, QueryId, page_of
from cloud.scope import Kind, in_scope

router = APIRouter(prefix="/api/v1", tags=["patrols"], responses=ERROR_RESPONSES)
Patroller = Annotated[Principal, allowed(Action.PATROL_RECORD)]
RecordPath = Annotated[str, Path(pattern=UUID_PATTERN, description="the record's UUID (lowercase, as stored)",
                                  examples=[EXAMPLE_ID])]
RECORD = Kind(PatrolRecord, "record_id", "patrol record", path_type=RecordPath,
              query=lambda actor: select(PatrolRecord).where(svc.records_filter(actor)))
VisibleRecord = Annotated[PatrolRecord, in_scope(RECORD)]


@router.post("/patrol-records", response_model=PatrolRecordOut, status_code=201,
             responses={200: {"model": PatrolRecordOut, "description": "already stored with this content"},
                        409: {"model": ErrorBody, "description": "the id is stored with other content; the sent "
                              "record is kept as a conflict (see GET /patrol-conflicts)"}})
def sync_record(body: PatrolRecordIn, actor: Patroller, db: DbSession, now: Now, response: Response) -> PatrolRecordOut:
    """Store a patrol record made on a phone, perhaps offline (离线巡查记录同步). Sending it again is safe: the same
    content answers 200 with the stored record; other content under the same id answers 409 naming the id."""
    outcome, row, conflict = svc.sync_record(db, actor=actor, data=body, now=now)
    db.commit()
    if conflict is not None:
        raise svc.RecordConflict(row.id, conflict.id)
    if outcome is Outcome.SAME:
        response.status_code = 200
    return PatrolRecordOut.model_validate(row)


@router.get("/patrol-records", response_model=Page[PatrolRecordOut])
def list_records(actor: CurrentUser, db: DbSession, enterprise_id: QueryId = None, task_id: QueryId = None,
                 limit: Limit = 100, offset: Offset = 0) -> Response:
    """Patrol records inside your scope; an enterprise's users see their own enterprise's."""
    stmt = select(PatrolRecord).where(svc.records_filter(actor))
    if enterprise_id is not None:
        stmt = stmt.where(PatrolRecord.enterprise_id == enterprise_id)
    if task_id is not None:
        stmt = stmt.where(PatrolRecord.task_id == task_id)
    rows, total = fetch_page(db, stmt, order_by=PatrolRecord.visited_at, limit=limit, offset=offset)
    return page_of(PatrolRecordOut, rows, total=total, limit=limit, offset=offset)


@router.get("/patrol-records/{record_id}", response_model=PatrolRecordOut)
def read_record(row: VisibleRecord) -> PatrolRecordOut:
    return PatrolRecordOut.model_validate(row)


@router.get("/patrol-conflicts", response_model=Page[PatrolConflictOut])
def list_conflicts(actor: CurrentUser, db: DbSession, limit: Limit = 100, offset: Offset = 0) -> Response:
    """Records sent under an id already stored with other content, kept whole for an officer or supervisor."""
    stmt = select(PatrolConflict).where(svc.conflicts_filter(actor))
    rows, total = fetch_page(db, stmt, order_by=PatrolConflict.id, limit=limit, offset=offset)
    return page_of(PatrolConflictOut, rows, total=total, limit=limit, offset=offset)
