"""Grid routes: bind officers to grids; the balance report of a street or a district (JSON or CSV)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from sqlalchemy import ColumnElement, select

from cloud.audit.service import record
from cloud.auth.deps import allowed
from cloud.auth.models import User
from cloud.auth.policy import Action
from cloud.auth.roles import Principal
from cloud.deps import DbSession, Limit, Now, Settings
from cloud.errors import Conflict
from cloud.grid import service as svc
from cloud.grid.history import enterprise_history
from cloud.grid.importer import (
    COLUMNS,
    GRID_COLUMNS,
    SPACE_COLUMNS,
    apply_grids,
    apply_plan,
    apply_spaces,
    plan_bindings,
    plan_grids,
    plan_spaces,
)
from cloud.grid.ledger import grid_space_gaps, ledger_csv, space_ledger
from cloud.grid.rescue import compose
from cloud.grid.rules import DEFAULT_LOAD
from cloud.grid.schemas import (
    BalanceOut,
    BindingCreate,
    BindingImportOut,
    BindingOut,
    ChangeOut,
    GridImportOut,
    LedgerRowOut,
    SpaceGapOut,
    SpaceImportOut,
)
from cloud.registry.models import ConfinedSpace, Enterprise, Grid
from cloud.registry.schemas import SpaceOut
from cloud.registry.uploads import XLSX_TYPE
from cloud.schemas import ERROR_RESPONSES, ErrorBody
from cloud.scope import GRID, SPACE, VisibleDistrict, VisibleEnterprise, VisibleGrid, VisibleStreet, in_scope

PREFIX = "/api/v1"
IMPORT_PATH = f"{PREFIX}/grid-bindings/import"  # has its own body-size limit, like the enterprise import
SPACE_IMPORT_PATH = f"{PREFIX}/space-ledger/import"  # likewise
GRID_IMPORT_PATH = f"{PREFIX}/grids/import"  # likewise
router = APIRouter(prefix=PREFIX, tags=["grid"], responses=ERROR_RESPONSES)
SpaceManager = Annotated[Principal, allowed(Action.SPACE_MANAGE)]
AreaManager = Annotated[Principal, allowed(Action.AREA_MANAGE)]
ManagedSpace = Annotated[ConfinedSpace, in_scope(SPACE, action=Action.SPACE_MANAGE)]
ManagedGrid = Annotated[Grid, in_scope(GRID, action=Action.AREA_MANAGE)]
Load = Annotated[int, Query(ge=1, le=100_000, description="enterprises one officer is expected to carry")]
Format = Annotated[Literal["json", "csv"], Query(description="json (default) or csv")]
_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "the report; per grid as CSV with format=csv"}}


@router.post("/grids/{grid_id}/bindings", response_model=BindingOut, status_code=201)
def bind_officer(grid: ManagedGrid, body: BindingCreate, actor: AreaManager, db: DbSession, now: Now) -> BindingOut:
    """Bind a user to the grid with a role (grid officer, area lead, rectification officer, other force)."""
    row = svc.bind_officer(db, actor=actor, grid=grid, user_id=body.user_id, role=body.role, now=now)
    db.commit()
    return BindingOut.model_validate(row)


def _report(db: DbSession, *, grids: ColumnElement[bool], users: ColumnElement[bool], load: int,
            fmt: str) -> Response | BalanceOut:
    report, unbound = svc.grid_balance(db, area=grids, user_area=users, load=load)
    places = svc.placements(db, grid_ids=[v.grid_id for v in report.grids])
    if fmt == "csv":
        return Response(svc.balance_csv(report, places), media_type="text/csv; charset=utf-8")
    body = asdict(report)
    for row in body["grids"]:
        row["community"], row["area"] = places.get(row["grid_id"], (None, None))
    return BalanceOut.model_validate({**body, "load": load, "officers_without_grid": unbound})


@router.get("/streets/{street_id}/grid-balance", response_model=BalanceOut, responses=_CSV)
def street_balance(street: VisibleStreet, db: DbSession, load: Load = DEFAULT_LOAD,
                   format: Format = "json") -> Response | BalanceOut:
    """Per grid of the street: enterprises, bound officers, enterprises per officer; the rules (2–3 officers,
    ``load`` per officer) are reported here, never enforced."""
    return _report(db, grids=Grid.street_id == street.id,
                   users=User.grid_id.in_(select(Grid.id).where(Grid.street_id == street.id)), load=load, fmt=format)


@router.get("/districts/{district_id}/grid-balance", response_model=BalanceOut, responses=_CSV)
def district_balance(district: VisibleDistrict, db: DbSession, load: Load = DEFAULT_LOAD,
                     format: Format = "json") -> Response | BalanceOut:
    """The district's balance report (as the street's, over every grid of the district)."""
    return _report(db, grids=Grid.district_id == district.id,
                   users=User.grid_id.in_(select(Grid.id).where(Grid.district_id == district.id)), load=load,
                   fmt=format)


async def _raw_body(request: Request) -> bytes:
    """The upload as bytes, whatever its type; size-capped by middleware."""
    return await request.body()


_TABLE_BODY = {"schema": {"type": "string", "format": "binary"}}
_IMPORT_DOC = {"requestBody": {"required": True, "content": {
    "text/csv": {**_TABLE_BODY, "example": ",".join(COLUMNS) + "\n440310-01-007,zhang.wei,grid_officer,\n"
                 "440310-01-007,,,914403001922038216\n"},
    XLSX_TYPE: _TABLE_BODY}}}


@router.post(IMPORT_PATH.removeprefix(PREFIX), response_model=BindingImportOut, openapi_extra=_IMPORT_DOC,
             responses={413: {"model": ErrorBody}, 415: {"model": ErrorBody}})
def import_bindings(data: Annotated[bytes, Depends(_raw_body)], actor: AreaManager, db: DbSession, now: Now,
                    settings: Settings, content_type: Annotated[str | None, Header()] = None,
                    dry_run: Annotated[bool, Query(description="check every row, write nothing")] = False,
                    ) -> BindingImportOut:
    """Bind officers and enterprises to grids from a CSV or .xlsx table (columns in the example; a row names a
    user with a role, or an enterprise by its code). All rows or none: with problems nothing is written and the
    422 lists each by row and column; ``dry_run=true`` lists them (200) without writing even a clean table."""
    plan = plan_bindings(db, actor=actor, data=data, content_type=content_type,
                         max_rows=settings.api.max_import_rows, max_bytes=settings.api.max_import_bytes)
    if not dry_run:
        apply_plan(db, actor=actor, plan=plan, now=now)
        db.commit()
    return BindingImportOut(dry_run=dry_run, officers=len(plan.officers), enterprises=len(plan.enterprises),
                            problems=plan.problems)


@router.get("/enterprises/{enterprise_id}/history", response_model=list[ChangeOut])
def read_enterprise_history(enterprise: VisibleEnterprise, db: DbSession, limit: Limit = 100) -> list[ChangeOut]:
    """Who changed which field of the enterprise, when, old → new (newest first; ``limit`` counts writes, each
    of which may change several fields). Officers' field collection goes through the registry's PATCH, which
    validates it (USCC check digit, address, industry, …) and records it here."""
    return [ChangeOut.model_validate(asdict(c)) for c in enterprise_history(db, enterprise=enterprise, limit=limit)]


@router.get("/grids/{grid_id}/space-gaps", response_model=list[SpaceGapOut])
def list_space_gaps(grid: VisibleGrid, db: DbSession) -> list[SpaceGapOut]:
    """Confined spaces of the grid's enterprises without a gateway watching them (a detector on an active
    gateway), a padlock, or rescue guidance: the officer's list of what to follow up."""
    return [SpaceGapOut.model_validate(asdict(g)) for g in grid_space_gaps(db, grid=grid)]


@router.post("/confined-spaces/{space_id}/rescue-guidance", response_model=SpaceOut,
             responses={409: {"model": ErrorBody, "description": "the space already has rescue guidance"}})
def adopt_rescue_guidance(space: ManagedSpace, actor: SpaceManager, db: DbSession, now: Now) -> SpaceOut:
    """Copy the rescue guidance template for the space's type and hazards (Chinese) into its ``rescue_notes``,
    for the enterprise to edit there (PATCH). Never overwrites guidance the space already has (409)."""
    if space.rescue_notes.strip():
        raise Conflict("the space already has rescue guidance; edit it instead", field="rescue_notes")
    space.rescue_notes = compose(space.space_type, space.hazards)
    space.updated_at = now
    record(db, actor=actor, action="space.rescue_template", entity="confined_space", entity_id=space.id, now=now,
           before={"rescue_notes": ""}, after={"rescue_notes": space.rescue_notes})
    db.commit()
    return SpaceOut.model_validate(space)


_LEDGER_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "the ledger; as CSV with format=csv"}}


def _ledger(db: DbSession, area: ColumnElement[bool], fmt: str) -> Response | list[LedgerRowOut]:
    rows = space_ledger(db, area=area)
    if fmt == "csv":
        return Response(ledger_csv(rows), media_type="text/csv; charset=utf-8")
    return [LedgerRowOut.model_validate(asdict(r)) for r in rows]


@router.get("/streets/{street_id}/space-ledger", response_model=list[LedgerRowOut], responses=_LEDGER_CSV)
def street_space_ledger(street: VisibleStreet, db: DbSession,
                        format: Format = "json") -> Response | list[LedgerRowOut]:
    """The confined-space ledger (有限空间台账) of the street: every space of its enterprises with what guards
    it (per enterprise: ``GET /confined-spaces?enterprise_id=``)."""
    return _ledger(db, Enterprise.street_id == street.id, format)


@router.get("/districts/{district_id}/space-ledger", response_model=list[LedgerRowOut], responses=_LEDGER_CSV)
def district_space_ledger(district: VisibleDistrict, db: DbSession,
                          format: Format = "json") -> Response | list[LedgerRowOut]:
    """The district's confined-space ledger (as the street's)."""
    return _ledger(db, Enterprise.district_id == district.id, format)


_SPACE_IMPORT_DOC = {"requestBody": {"required": True, "content": {
    "text/csv": {**_TABLE_BODY, "example": ",".join(SPACE_COLUMNS) + "\n914403001922038216,WS-01,1号污水井,"
                 "underground,厂区东侧,toxic_gas;oxygen_deficiency,generic-4gas,\n"},
    XLSX_TYPE: _TABLE_BODY}}}


@router.post(SPACE_IMPORT_PATH.removeprefix(PREFIX), response_model=SpaceImportOut, openapi_extra=_SPACE_IMPORT_DOC,
             responses={413: {"model": ErrorBody}, 415: {"model": ErrorBody}})
def import_spaces(data: Annotated[bytes, Depends(_raw_body)], actor: SpaceManager, db: DbSession, now: Now,
                  settings: Settings, content_type: Annotated[str | None, Header()] = None,
                  dry_run: Annotated[bool, Query(description="check every row, store nothing")] = False,
                  ) -> SpaceImportOut:
    """Add confined spaces to the ledger from a CSV or .xlsx table (columns in the example; ``hazards``
    separated by ``;``; ``space_type`` closed_equipment / underground / above_ground, the kind such as a
    sewage well, tank, pit or silo in the name). All rows or none, like the binding import."""
    plan = plan_spaces(db, actor=actor, data=data, content_type=content_type,
                       max_rows=settings.api.max_import_rows, max_bytes=settings.api.max_import_bytes)
    ids: list[int] = []
    if not dry_run:
        ids = apply_spaces(db, actor=actor, plan=plan, now=now)
        db.commit()
    return SpaceImportOut(dry_run=dry_run, created=len(ids), ids=ids, valid=len(plan.spaces), problems=plan.problems)


_GRID_IMPORT_DOC = {"requestBody": {"required": True, "content": {
    "text/csv": {**_TABLE_BODY, "example": ",".join(GRID_COLUMNS) + "\n440310-01,秀新社区,第一片区,440310-01-007,"
                 "第七网格\n"},
    XLSX_TYPE: _TABLE_BODY}}}


@router.post(GRID_IMPORT_PATH.removeprefix(PREFIX), response_model=GridImportOut, openapi_extra=_GRID_IMPORT_DOC,
             responses={413: {"model": ErrorBody}, 415: {"model": ErrorBody}})
def import_grids(data: Annotated[bytes, Depends(_raw_body)], actor: AreaManager, db: DbSession, now: Now,
                 settings: Settings, content_type: Annotated[str | None, Header()] = None,
                 dry_run: Annotated[bool, Query(description="check every row, store nothing")] = False,
                 ) -> GridImportOut:
    """Create grids from a CSV or .xlsx table, each placed in its street's community (社区) and optionally an
    area (片区), both created when first named. All rows or none, like the other imports."""
    plan = plan_grids(db, actor=actor, data=data, content_type=content_type,
                      max_rows=settings.api.max_import_rows, max_bytes=settings.api.max_import_bytes)
    ids: list[int] = []
    if not dry_run:
        ids = apply_grids(db, actor=actor, plan=plan, now=now)
        db.commit()
    return GridImportOut(dry_run=dry_run, created=len(ids), ids=ids, valid=len(plan.grids), problems=plan.problems)
