"""Patrol records: sync one from a phone (idempotent by its UUID), list records and conflicts in scope.

A record names its task (a task of that enterprise, in the caller's scope) or none (an ad hoc visit); its
checklist codes must be items of the enterprise's industry checklist. A stored record is never changed by a
sync: the same content again answers with it, other content under the same id is kept as a conflict.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from cloud.audit.service import record
from cloud.auth.roles import Principal
from cloud.errors import Conflict, InvalidInput
from cloud.patrols import checklists
from cloud.patrols.models import PatrolConflict, PatrolRecord
from cloud.patrols.schemas import PatrolRecordIn
from cloud.patrols.sync import Outcome, content_hash, decide
from cloud.schedule.models import PatrolTask
from cloud.schedule.service import DONE, tasks_filter
from cloud.scope import visible, visible_enterprise

CLOCK_SKEW = timedelta(minutes=10)  # a phone's clock may run a little ahead


class RecordConflict(Conflict):
    """409: the id is stored with other content; the sent record is kept in ``patrol_conflicts``."""

    def __init__(self, record_id: str, conflict_id: int) -> None:
        super().__init__(f"patrol record {record_id} is already stored with other content; yours is kept as "
                         f"conflict {conflict_id} / 该记录编号已存在且内容不同，已另存待核对", code="record_conflict",
                         field="id")
        self.record_id, self.conflict_id = record_id, conflict_id

    def extra(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "conflict_id": self.conflict_id}


def records_filter(actor: Principal) -> ColumnElement[bool]:
    """Officers their grids', supervisors their area's, an enterprise its own (read-only)."""
    return visible(actor, district=PatrolRecord.district_id, street=PatrolRecord.street_id,
                   grid=PatrolRecord.grid_id, enterprise=PatrolRecord.enterprise_id)


def conflicts_filter(actor: Principal) -> ColumnElement[bool]:
    return visible(actor, district=PatrolConflict.district_id, street=PatrolConflict.street_id,
                   grid=PatrolConflict.grid_id)


def sync_record(db: Session, *, actor: Principal, data: PatrolRecordIn,
                now: datetime) -> tuple[Outcome, PatrolRecord, PatrolConflict | None]:
    """Store, recognise or report the record. On a conflict the caller commits, then raises :class:`RecordConflict`
    (the conflict row must survive the error answer)."""
    body = data.model_dump(mode="json")
    digest = content_hash(body)
    record_id = str(data.id)
    stored = db.get(PatrolRecord, record_id)
    outcome = decide(stored.content_hash if stored else None, digest)
    if stored is not None and outcome is Outcome.SAME:
        return outcome, stored, None
    enterprise = visible_enterprise(db, actor=actor, enterprise_id=data.enterprise_id)
    if stored is not None:
        conflict = db.execute(select(PatrolConflict).where(PatrolConflict.record_id == record_id,
                                                           PatrolConflict.content_hash == digest)).scalar_one_or_none()
        if conflict is None:  # the same conflicting copy sent again is kept once
            conflict = PatrolConflict(record_id=record_id, district_id=enterprise.district_id,
                                      street_id=enterprise.street_id, grid_id=enterprise.grid_id,
                                      sent_by=actor.user_id, body=body, content_hash=digest, received_at=now)
            db.add(conflict)
            db.flush()
            record(db, actor=actor, action="patrol_record.conflict", entity="patrol_record", entity_id=record_id,
                   now=now, after={"conflict_id": conflict.id})
        return outcome, stored, conflict
    if data.visited_at > now + CLOCK_SKEW:
        raise InvalidInput("the visit is in the future", field="visited_at")
    allowed = {item.code for item in checklists.load().for_industry(enterprise.industry)}
    for i, check in enumerate(data.checklist):
        if check.code not in allowed:
            raise InvalidInput(f"{check.code!r} is not an item of this enterprise's checklist",
                               field=f"checklist.{i}.code")
    task = None
    if data.task_id is not None:
        task = db.execute(select(PatrolTask).where(tasks_filter(actor), PatrolTask.id == data.task_id,
                                                   PatrolTask.enterprise_id == enterprise.id)).scalar_one_or_none()
        if task is None:
            raise InvalidInput("no such patrol task of this enterprise in your scope", field="task_id")
    row = PatrolRecord(id=record_id, task_id=data.task_id, enterprise_id=enterprise.id,
                       district_id=enterprise.district_id, street_id=enterprise.street_id,
                       grid_id=enterprise.grid_id, officer_id=actor.user_id, visited_at=data.visited_at.astimezone(UTC),
                       place=data.place, checklist=body["checklist"], photos=body["photos"],
                       findings=body["findings"], hazard_id=None, content_hash=digest, received_at=now)
    db.add(row)
    if task is not None and task.status != "cancelled":
        task.status = DONE
    db.flush()
    record(db, actor=actor, action="patrol_record.create", entity="patrol_record", entity_id=record_id, now=now,
           after={"enterprise_id": enterprise.id, "task_id": data.task_id, "findings": len(data.findings)})
    return outcome, row, None
