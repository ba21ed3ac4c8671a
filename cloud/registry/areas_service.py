"""Districts, streets and grids: the city's supervision map, and the grid officers bound to each grid.

Districts are the city administrators'; streets and grids also their district supervisor's. A street stays
in its district and a grid in its street (only code and name change), so the ancestor ids never go stale.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.audit.service import record
from cloud.auth.models import User
from cloud.auth.roles import Principal, Role, ScopeKind
from cloud.db.base import Base, snapshot
from cloud.db.paging import fetch_page
from cloud.errors import Conflict, InvalidInput
from cloud.registry.models import District, Grid, Street
from cloud.registry.schemas import DistrictCreate, DistrictUpdate, GridCreate, StreetCreate
from cloud.scope import districts_filter, grids_filter, streets_filter

A = TypeVar("A", District, Street, Grid)
_FILTERS: dict[type[Base], Any] = {District: districts_filter, Street: streets_filter, Grid: grids_filter}
_ENTITY = {District: "district", Street: "street", Grid: "grid"}
_PARENT_COLUMN: dict[type[Base], Any] = {Street: Street.district_id, Grid: Grid.street_id}


def _check_code_free(db: Session, *, model: type[A], code: str, exclude_id: int | None = None) -> None:
    stmt = select(model.id).where(model.code == code)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    if db.execute(stmt).first() is not None:
        raise Conflict(f"a {_ENTITY[model]} with this code exists", field="code")


def _parent(db: Session, *, model: type[A], parent_id: int, actor: Principal, field: str) -> A:
    row = db.execute(select(model).where(model.id == parent_id, _FILTERS[model](actor))).scalar_one_or_none()
    if row is None:
        raise InvalidInput(f"no such {_ENTITY[model]} in your scope", field=field)
    return row


def _add(db: Session, row: A, *, actor: Principal, now: datetime) -> A:
    db.add(row)
    db.flush()
    record(db, actor=actor, action=f"{_ENTITY[type(row)]}.create", entity=_ENTITY[type(row)], entity_id=row.id,
           now=now, after=snapshot(row))
    return row


def create_district(db: Session, *, actor: Principal, data: DistrictCreate, now: datetime) -> District:
    _check_code_free(db, model=District, code=data.code)
    return _add(db, District(code=data.code, name=data.name), actor=actor, now=now)


def create_street(db: Session, *, actor: Principal, data: StreetCreate, now: datetime) -> Street:
    district = _parent(db, model=District, parent_id=data.district_id, actor=actor, field="district_id")
    _check_code_free(db, model=Street, code=data.code)
    return _add(db, Street(code=data.code, name=data.name, district_id=district.id), actor=actor, now=now)


def create_grid(db: Session, *, actor: Principal, data: GridCreate, now: datetime) -> Grid:
    street = _parent(db, model=Street, parent_id=data.street_id, actor=actor, field="street_id")
    _check_code_free(db, model=Grid, code=data.code)
    return _add(db, Grid(code=data.code, name=data.name, district_id=street.district_id, street_id=street.id),
                actor=actor, now=now)


def list_areas(db: Session, *, model: type[A], actor: Principal, parent_id: int | None, limit: int,
               offset: int) -> tuple[list[A], int]:
    stmt = select(model).where(_FILTERS[model](actor))
    parent = _PARENT_COLUMN.get(model)
    if parent_id is not None and parent is not None:
        stmt = stmt.where(parent == parent_id)
    return fetch_page(db, stmt, order_by=model.code, limit=limit, offset=offset)


def update_area(db: Session, *, row: A, actor: Principal, data: DistrictUpdate, now: datetime) -> A:
    model = type(row)
    changes = data.changes()
    if "code" in changes:
        _check_code_free(db, model=model, code=changes["code"], exclude_id=row.id)
    before = snapshot(row)
    for key, value in changes.items():
        setattr(row, key, value)
    db.flush()
    record(db, actor=actor, action=f"{_ENTITY[model]}.update", entity=_ENTITY[model], entity_id=row.id, now=now,
           before=before, after=snapshot(row))
    return row


def delete_area(db: Session, *, row: District | Street | Grid, actor: Principal, now: datetime) -> None:
    """Delete an empty area; one that still holds streets, grids, enterprises or users is a 409 (from the
    foreign keys)."""
    model, area_id = type(row), row.id
    before = snapshot(row)
    db.delete(row)
    db.flush()
    record(db, actor=actor, action=f"{_ENTITY[model]}.delete", entity=_ENTITY[model], entity_id=area_id, now=now,
           before=before)


def grid_officers(db: Session, *, grid: Grid) -> list[User]:
    """The grid officers bound to a grid: users with that role whose scope is the grid."""
    return list(db.execute(
        select(User).where(User.role == Role.GRID_OFFICER, User.scope_kind == ScopeKind.GRID,
                           User.grid_id == grid.id).order_by(User.username)
    ).scalars())
