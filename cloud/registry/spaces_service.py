"""Confined spaces (有限空间): registered and maintained by their enterprise (or a regulator in scope)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.audit.service import record
from cloud.auth.roles import Principal
from cloud.db.base import snapshot
from cloud.db.paging import fetch_page
from cloud.errors import Conflict, InvalidInput
from cloud.registry.models import ConfinedSpace, Enterprise
from cloud.registry.schemas import SpaceCreate, SpaceUpdate
from cloud.scope import enterprises_filter, spaces_query


def _check_code_free(db: Session, *, enterprise_id: int, code: str, exclude_id: int | None = None) -> None:
    stmt = select(ConfinedSpace.id).where(ConfinedSpace.enterprise_id == enterprise_id, ConfinedSpace.code == code)
    if exclude_id is not None:
        stmt = stmt.where(ConfinedSpace.id != exclude_id)
    if db.execute(stmt).first() is not None:
        raise Conflict("the enterprise already has a confined space with this code", field="code")


def create_space(db: Session, *, actor: Principal, data: SpaceCreate, now: datetime) -> ConfinedSpace:
    enterprise = db.execute(select(Enterprise).where(Enterprise.id == data.enterprise_id,
                                                     enterprises_filter(actor))).scalar_one_or_none()
    if enterprise is None:
        raise InvalidInput("no such enterprise in your scope", field="enterprise_id")
    _check_code_free(db, enterprise_id=enterprise.id, code=data.code)
    space = ConfinedSpace(**data.model_dump(mode="json"), created_at=now, updated_at=now)
    db.add(space)
    db.flush()
    record(db, actor=actor, action="confined_space.create", entity="confined_space", entity_id=space.id, now=now,
           after=snapshot(space))
    return space


def list_spaces(db: Session, *, actor: Principal, enterprise_id: int | None, limit: int,
                offset: int) -> tuple[list[ConfinedSpace], int]:
    stmt = spaces_query(actor)
    if enterprise_id is not None:
        stmt = stmt.where(ConfinedSpace.enterprise_id == enterprise_id)
    return fetch_page(db, stmt, order_by=ConfinedSpace.id, limit=limit, offset=offset)


def update_space(db: Session, *, actor: Principal, space: ConfinedSpace, data: SpaceUpdate,
                 now: datetime) -> ConfinedSpace:
    changes = data.model_dump(mode="json", exclude_unset=True)
    if "code" in changes:
        _check_code_free(db, enterprise_id=space.enterprise_id, code=changes["code"], exclude_id=space.id)
    before = snapshot(space)
    for key, value in changes.items():
        setattr(space, key, value)
    space.updated_at = now
    db.flush()
    record(db, actor=actor, action="confined_space.update", entity="confined_space", entity_id=space.id, now=now,
           before=before, after=snapshot(space))
    return space


def delete_space(db: Session, *, actor: Principal, space: ConfinedSpace, now: datetime) -> None:
    space_id = space.id
    before = snapshot(space)
    db.delete(space)
    db.flush()
    record(db, actor=actor, action="confined_space.delete", entity="confined_space", entity_id=space_id, now=now,
           before=before)
