"""Reading the audit log (city administrators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from cloud.audit import service
from cloud.audit.schemas import AuditEntryOut
from cloud.auth.deps import allowed
from cloud.auth.policy import Action
from cloud.auth.roles import Principal
from cloud.deps import DbSession, Limit, Offset
from cloud.schemas import ERROR_RESPONSES, Page, QueryId, page_of

router = APIRouter(prefix="/api/v1", tags=["audit"], responses=ERROR_RESPONSES)


@router.get("/audit", response_model=Page[AuditEntryOut])
def list_audit(_actor: Annotated[Principal, allowed(Action.AUDIT_READ)], db: DbSession,
               entity: Annotated[str | None, Query(max_length=32, examples=["enterprise"])] = None,
               entity_id: Annotated[str | None, Query(max_length=64)] = None,
               actor_id: QueryId = None,
               action: Annotated[str | None, Query(max_length=64, examples=["enterprise.create"])] = None,
               limit: Limit = 100,
               offset: Offset = 0) -> Response:
    """Newest first."""
    rows, total = service.list_entries(db, entity=entity, entity_id=entity_id, actor_id=actor_id, action=action,
                                       limit=limit, offset=offset)
    return page_of(AuditEntryOut, rows, total=total, limit=limit, offset=offset)
