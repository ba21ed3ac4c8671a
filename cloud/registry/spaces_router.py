"""HTTP endpoints of confined spaces."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from cloud.auth.deps import CurrentUser, allowed
from cloud.auth.policy import Action
from cloud.auth.roles import Principal
from cloud.deps import DbSession, Limit, Now, Offset
from cloud.registry import spaces_service as svc
from cloud.registry.models import ConfinedSpace
from cloud.registry.schemas import SpaceCreate, SpaceOut, SpaceUpdate
from cloud.schemas import ERROR_RESPONSES, Page, QueryId, page_of
from cloud.scope import SPACE, VisibleSpace, in_scope

router = APIRouter(prefix="/api/v1", tags=["confined spaces"], responses=ERROR_RESPONSES)
SpaceManager = Annotated[Principal, allowed(Action.SPACE_MANAGE)]
ManagedSpace = Annotated[ConfinedSpace, in_scope(SPACE, action=Action.SPACE_MANAGE)]


@router.get("/confined-spaces", response_model=Page[SpaceOut])
def list_spaces(actor: CurrentUser, db: DbSession, enterprise_id: QueryId = None,
                limit: Limit = 100,
                offset: Offset = 0) -> Response:
    rows, total = svc.list_spaces(db, actor=actor, enterprise_id=enterprise_id, limit=limit, offset=offset)
    return page_of(SpaceOut, rows, total=total, limit=limit, offset=offset)


@router.post("/confined-spaces", response_model=SpaceOut, status_code=201)
def create_space(body: SpaceCreate, actor: SpaceManager, db: DbSession, now: Now) -> SpaceOut:
    row = svc.create_space(db, actor=actor, data=body, now=now)
    db.commit()
    return SpaceOut.model_validate(row)


@router.get("/confined-spaces/{space_id}", response_model=SpaceOut)
def read_space(space: VisibleSpace) -> SpaceOut:
    return SpaceOut.model_validate(space)


@router.patch("/confined-spaces/{space_id}", response_model=SpaceOut)
def update_space(space: ManagedSpace, body: SpaceUpdate, actor: SpaceManager, db: DbSession, now: Now) -> SpaceOut:
    row = svc.update_space(db, actor=actor, space=space, data=body, now=now)
    db.commit()
    return SpaceOut.model_validate(row)


@router.delete("/confined-spaces/{space_id}", status_code=204)
def delete_space(space: ManagedSpace, actor: SpaceManager, db: DbSession, now: Now) -> None:
    svc.delete_space(db, actor=actor, space=space, now=now)
    db.commit()
