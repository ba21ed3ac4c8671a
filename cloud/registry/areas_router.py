"""HTTP endpoints of districts, streets and grids (and a grid's officers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from cloud.auth.deps import CurrentUser, allowed
from cloud.auth.policy import Action
from cloud.auth.roles import Principal
from cloud.auth.schemas import UserOut
from cloud.deps import DbSession, Limit, Now, Offset
from cloud.registry import areas_service as svc
from cloud.registry.models import District, Grid, Street
from cloud.registry.schemas import (
    DistrictCreate,
    DistrictOut,
    DistrictUpdate,
    GridCreate,
    GridOut,
    GridUpdate,
    StreetCreate,
    StreetOut,
    StreetUpdate,
)
from cloud.schemas import ERROR_RESPONSES, Page, QueryId, page_of
from cloud.scope import DISTRICT, GRID, STREET, VisibleDistrict, VisibleGrid, VisibleStreet, in_scope

router = APIRouter(prefix="/api/v1", tags=["areas"], responses=ERROR_RESPONSES)
DistrictManager = Annotated[Principal, allowed(Action.DISTRICT_MANAGE)]
AreaManager = Annotated[Principal, allowed(Action.AREA_MANAGE)]
ManagedDistrict = Annotated[District, in_scope(DISTRICT, action=Action.DISTRICT_MANAGE)]
ManagedStreet = Annotated[Street, in_scope(STREET, action=Action.AREA_MANAGE)]
ManagedGrid = Annotated[Grid, in_scope(GRID, action=Action.AREA_MANAGE)]


@router.get("/districts", response_model=Page[DistrictOut])
def list_districts(actor: CurrentUser, db: DbSession, limit: Limit = 100, offset: Offset = 0) -> Response:
    rows, total = svc.list_areas(db, model=District, actor=actor, parent_id=None, limit=limit, offset=offset)
    return page_of(DistrictOut, rows, total=total, limit=limit, offset=offset)


@router.post("/districts", response_model=DistrictOut, status_code=201)
def create_district(body: DistrictCreate, actor: DistrictManager, db: DbSession, now: Now) -> DistrictOut:
    row = svc.create_district(db, actor=actor, data=body, now=now)
    db.commit()
    return DistrictOut.model_validate(row)


@router.get("/districts/{district_id}", response_model=DistrictOut)
def read_district(district: VisibleDistrict) -> DistrictOut:
    return DistrictOut.model_validate(district)


@router.patch("/districts/{district_id}", response_model=DistrictOut)
def update_district(district: ManagedDistrict, body: DistrictUpdate, actor: DistrictManager, db: DbSession,
                    now: Now) -> DistrictOut:
    row = svc.update_area(db, row=district, actor=actor, data=body, now=now)
    db.commit()
    return DistrictOut.model_validate(row)


@router.delete("/districts/{district_id}", status_code=204)
def delete_district(district: ManagedDistrict, actor: DistrictManager, db: DbSession, now: Now) -> None:
    """Only an empty district can go (409 while it has streets, grids, enterprises or users)."""
    svc.delete_area(db, row=district, actor=actor, now=now)
    db.commit()


@router.get("/streets", response_model=Page[StreetOut])
def list_streets(actor: CurrentUser, db: DbSession, district_id: QueryId = None,
                 limit: Limit = 100, offset: Offset = 0) -> Response:
    rows, total = svc.list_areas(db, model=Street, actor=actor, parent_id=district_id, limit=limit, offset=offset)
    return page_of(StreetOut, rows, total=total, limit=limit, offset=offset)


@router.post("/streets", response_model=StreetOut, status_code=201)
def create_street(body: StreetCreate, actor: AreaManager, db: DbSession, now: Now) -> StreetOut:
    row = svc.create_street(db, actor=actor, data=body, now=now)
    db.commit()
    return StreetOut.model_validate(row)


@router.get("/streets/{street_id}", response_model=StreetOut)
def read_street(street: VisibleStreet) -> StreetOut:
    return StreetOut.model_validate(street)


@router.patch("/streets/{street_id}", response_model=StreetOut)
def update_street(street: ManagedStreet, body: StreetUpdate, actor: AreaManager, db: DbSession, now: Now) -> StreetOut:
    row = svc.update_area(db, row=street, actor=actor, data=body, now=now)
    db.commit()
    return StreetOut.model_validate(row)


@router.delete("/streets/{street_id}", status_code=204)
def delete_street(street: ManagedStreet, actor: AreaManager, db: DbSession, now: Now) -> None:
    svc.delete_area(db, row=street, actor=actor, now=now)
    db.commit()


@router.get("/grids", response_model=Page[GridOut])
def list_grids(actor: CurrentUser, db: DbSession, street_id: QueryId = None,
               limit: Limit = 100, offset: Offset = 0) -> Response:
    rows, total = svc.list_areas(db, model=Grid, actor=actor, parent_id=street_id, limit=limit, offset=offset)
    return page_of(GridOut, rows, total=total, limit=limit, offset=offset)


@router.post("/grids", response_model=GridOut, status_code=201)
def create_grid(body: GridCreate, actor: AreaManager, db: DbSession, now: Now) -> GridOut:
    row = svc.create_grid(db, actor=actor, data=body, now=now)
    db.commit()
    return GridOut.model_validate(row)


@router.get("/grids/{grid_id}", response_model=GridOut)
def read_grid(grid: VisibleGrid) -> GridOut:
    return GridOut.model_validate(grid)


@router.patch("/grids/{grid_id}", response_model=GridOut)
def update_grid(grid: ManagedGrid, body: GridUpdate, actor: AreaManager, db: DbSession, now: Now) -> GridOut:
    row = svc.update_area(db, row=grid, actor=actor, data=body, now=now)
    db.commit()
    return GridOut.model_validate(row)


@router.delete("/grids/{grid_id}", status_code=204)
def delete_grid(grid: ManagedGrid, actor: AreaManager, db: DbSession, now: Now) -> None:
    svc.delete_area(db, row=grid, actor=actor, now=now)
    db.commit()


@router.get("/grids/{grid_id}/officers", response_model=list[UserOut])
def list_grid_officers(grid: VisibleGrid, db: DbSession) -> list[UserOut]:
    """Grid officers bound to the grid (bind one by giving a grid_officer user this grid as scope)."""
    return [UserOut.model_validate(u) for u in svc.grid_officers(db, grid=grid)]
