"""Enterprises (工贸企业): registration by regulators, updates also by the enterprise's own manager."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.audit.service import record
from cloud.auth.roles import Principal, ScopeKind
from cloud.db.base import snapshot
from cloud.db.paging import fetch_page
from cloud.errors import Conflict, Forbidden, InvalidInput
from cloud.registry.models import Enterprise, Grid
from cloud.registry.schemas import EnterpriseCreate, EnterpriseIdentity, EnterpriseUpdate
from cloud.scope import enterprises_filter, grids_filter


def visible_grid(db: Session, *, actor: Principal, grid_id: int, field: str = "grid_id") -> Grid:
    grid = db.execute(select(Grid).where(Grid.id == grid_id, grids_filter(actor))).scalar_one_or_none()
    if grid is None:
        raise InvalidInput("no such grid in your scope", field=field)
    return grid


def check_uscc_free(db: Session, *, uscc: str, exclude_id: int | None = None) -> None:
    stmt = select(Enterprise.id).where(Enterprise.uscc == uscc)
    if exclude_id is not None:
        stmt = stmt.where(Enterprise.id != exclude_id)
    if db.execute(stmt).first() is not None:
        raise Conflict("an enterprise with this unified social credit code is registered", field="uscc")


def new_enterprise(data: EnterpriseIdentity, *, grid: Grid, now: datetime) -> Enterprise:
    fields = data.model_dump(include=set(EnterpriseIdentity.model_fields))
    return Enterprise(**fields, grid_id=grid.id, street_id=grid.street_id, district_id=grid.district_id,
                      created_at=now, updated_at=now)


def create_enterprise(db: Session, *, actor: Principal, data: EnterpriseCreate, now: datetime) -> Enterprise:
    grid = visible_grid(db, actor=actor, grid_id=data.grid_id)
    check_uscc_free(db, uscc=data.uscc)
    enterprise = new_enterprise(data, grid=grid, now=now)
    db.add(enterprise)
    db.flush()
    record(db, actor=actor, action="enterprise.create", entity="enterprise", entity_id=enterprise.id, now=now,
           after=snapshot(enterprise))
    return enterprise


def list_enterprises(db: Session, *, actor: Principal, grid_id: int | None, limit: int,
                     offset: int) -> tuple[list[Enterprise], int]:
    stmt = select(Enterprise).where(enterprises_filter(actor))
    if grid_id is not None:
        stmt = stmt.where(Enterprise.grid_id == grid_id)
    return fetch_page(db, stmt, order_by=Enterprise.id, limit=limit, offset=offset)


def update_enterprise(db: Session, *, actor: Principal, enterprise: Enterprise, data: EnterpriseUpdate,
                      now: datetime) -> Enterprise:
    changes = data.changes()
    if actor.scope.kind is ScopeKind.ENTERPRISE:
        regulator_only = sorted(EnterpriseUpdate.regulator_only & changes.keys())
        if regulator_only:
            raise Forbidden(f"{regulator_only[0]} is changed by the regulator, not by the enterprise",
                            field=regulator_only[0])
    before = snapshot(enterprise)
    if "grid_id" in changes:
        grid = visible_grid(db, actor=actor, grid_id=changes.pop("grid_id"))
        enterprise.grid_id, enterprise.street_id, enterprise.district_id = grid.id, grid.street_id, grid.district_id
    if "uscc" in changes:
        check_uscc_free(db, uscc=changes["uscc"], exclude_id=enterprise.id)
    for key, value in changes.items():
        setattr(enterprise, key, value)
    enterprise.updated_at = now
    db.flush()
    record(db, actor=actor, action="enterprise.update", entity="enterprise", entity_id=enterprise.id, now=now,
           before=before, after=snapshot(enterprise))
    return enterprise


def delete_enterprise(db: Session, *, actor: Principal, enterprise: Enterprise, now: datetime) -> None:
    """Delete an enterprise with no confined spaces or users left (409 otherwise, from the foreign keys)."""
    enterprise_id = enterprise.id
    before = snapshot(enterprise)
    db.delete(enterprise)
    db.flush()
    record(db, actor=actor, action="enterprise.delete", entity="enterprise", entity_id=enterprise_id, now=now,
           before=before)
