"""HTTP endpoints of enterprises, including bulk import from CSV or .xlsx."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response

from cloud.auth.deps import CurrentUser, allowed
from cloud.auth.policy import Action
from cloud.auth.roles import Principal
from cloud.deps import DbSession, Limit, Now, Offset, Settings
from cloud.registry import enterprises_service as svc
from cloud.registry.importer import COLUMNS, import_enterprises
from cloud.registry.models import Enterprise
from cloud.registry.schemas import EnterpriseCreate, EnterpriseOut, EnterpriseUpdate, ImportResult
from cloud.registry.uploads import XLSX_TYPE
from cloud.schemas import ERROR_RESPONSES, ErrorBody, Page, QueryId, page_of
from cloud.scope import ENTERPRISE, VisibleEnterprise, in_scope

PREFIX = "/api/v1"
IMPORT_PATH = f"{PREFIX}/enterprises/import"  # has its own body-size limit
router = APIRouter(prefix=PREFIX, tags=["enterprises"], responses=ERROR_RESPONSES)
Registrar = Annotated[Principal, allowed(Action.ENTERPRISE_REGISTER)]
Updater = Annotated[Principal, allowed(Action.ENTERPRISE_UPDATE)]
UpdatableEnterprise = Annotated[Enterprise, in_scope(ENTERPRISE, action=Action.ENTERPRISE_UPDATE)]
RegisteredEnterprise = Annotated[Enterprise, in_scope(ENTERPRISE, action=Action.ENTERPRISE_REGISTER)]



async def _raw_body(request: Request) -> bytes:
    """The upload as bytes, whatever its type (FastAPI would otherwise try JSON); size-capped by middleware."""
    return await request.body()


_TABLE_BODY = {"schema": {"type": "string", "format": "binary"}}
_IMPORT_DOC = {
    "requestBody": {"required": True, "content": {
        "text/csv": {**_TABLE_BODY, "example": ",".join(COLUMNS) + "\n914403001922038216,深圳市某某有限公司,"
                     "C33 金属制品业,坑梓街道某路 8 号,440310-01-007,small,no,"},
        XLSX_TYPE: _TABLE_BODY}},
}


@router.get("/enterprises", response_model=Page[EnterpriseOut])
def list_enterprises(actor: CurrentUser, db: DbSession, grid_id: QueryId = None,
                     limit: Limit = 100,
                     offset: Offset = 0) -> Response:
    """Enterprises inside your scope."""
    rows, total = svc.list_enterprises(db, actor=actor, grid_id=grid_id, limit=limit, offset=offset)
    return page_of(EnterpriseOut, rows, total=total, limit=limit, offset=offset)


@router.post("/enterprises", response_model=EnterpriseOut, status_code=201,
             responses={409: {"model": ErrorBody, "description": "the code is already registered"}})
def create_enterprise(body: EnterpriseCreate, actor: Registrar, db: DbSession, now: Now) -> EnterpriseOut:
    row = svc.create_enterprise(db, actor=actor, data=body, now=now)
    db.commit()
    return EnterpriseOut.model_validate(row)


@router.post(IMPORT_PATH.removeprefix(PREFIX), response_model=ImportResult, status_code=201,
             openapi_extra=_IMPORT_DOC,
             responses={413: {"model": ErrorBody}, 415: {"model": ErrorBody}})
def import_enterprises_table(data: Annotated[bytes, Depends(_raw_body)], actor: Registrar, db: DbSession,
                             now: Now, settings: Settings,
                             content_type: Annotated[str | None, Header()] = None) -> ImportResult:
    """Register many enterprises from a CSV or .xlsx table (columns in the example). All rows or none: any
    bad row answers 422 with `rows`, one entry per problem (row number, field, message)."""
    ids = import_enterprises(db, actor=actor, data=data, content_type=content_type, now=now,
                             max_rows=settings.api.max_import_rows, max_bytes=settings.api.max_import_bytes)
    db.commit()
    return ImportResult(created=len(ids), ids=ids)


@router.get("/enterprises/{enterprise_id}", response_model=EnterpriseOut)
def read_enterprise(enterprise: VisibleEnterprise) -> EnterpriseOut:
    return EnterpriseOut.model_validate(enterprise)


@router.patch("/enterprises/{enterprise_id}", response_model=EnterpriseOut)
def update_enterprise(enterprise: UpdatableEnterprise, body: EnterpriseUpdate, actor: Updater, db: DbSession,
                      now: Now) -> EnterpriseOut:
    """An enterprise's own manager may change everything but its code and grid."""
    row = svc.update_enterprise(db, actor=actor, enterprise=enterprise, data=body, now=now)
    db.commit()
    return EnterpriseOut.model_validate(row)


@router.delete("/enterprises/{enterprise_id}", status_code=204)
def delete_enterprise(enterprise: RegisteredEnterprise, actor: Registrar, db: DbSession, now: Now) -> None:
    """Only an enterprise without confined spaces or users can go (409 otherwise)."""
    svc.delete_enterprise(db, actor=actor, enterprise=enterprise, now=now)
    db.commit()
