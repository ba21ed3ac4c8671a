"""Object-level authorization of enterprise-owned rows (devices, workers, permits): a row is visible when its
enterprise is, and a row outside the caller's scope is 404 exactly like a missing one."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cloud.auth.roles import Principal
from cloud.errors import InvalidInput, NotFound
from cloud.registry.access import enterprises_filter, spaces_query
from cloud.registry.models import ConfinedSpace, Enterprise

M = TypeVar("M")


def owned_query(model: type[M], actor: Principal) -> Select[tuple[M]]:
    """Rows of ``model`` (which has ``enterprise_id``) whose enterprise lies in the actor's scope."""
    owner: Any = model
    return select(model).join(Enterprise, owner.enterprise_id == Enterprise.id).where(enterprises_filter(actor))


def get_owned(db: Session, *, model: type[M], key: Any, actor: Principal, what: str) -> M:
    owner: Any = model
    pk = owner.__mapper__.primary_key[0]
    row = db.execute(owned_query(model, actor).where(pk == key)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no such {what}")
    return row


def visible_enterprise(db: Session, *, actor: Principal, enterprise_id: int,
                       field: str = "enterprise_id") -> Enterprise:
    """The enterprise named in a request body, or 422 on ``field`` when it does not exist or is out of scope."""
    row = db.execute(select(Enterprise).where(Enterprise.id == enterprise_id,
                                              enterprises_filter(actor))).scalar_one_or_none()
    if row is None:
        raise InvalidInput("no such enterprise in your scope", field=field)
    return row


def visible_space(db: Session, *, actor: Principal, space_id: int, field: str = "space_id") -> ConfinedSpace:
    """The confined space named in a request body, or 422 on ``field``."""
    row = db.execute(spaces_query(actor).where(ConfinedSpace.id == space_id)).scalar_one_or_none()
    if row is None:
        raise InvalidInput("no such confined space in your scope", field=field)
    return row
