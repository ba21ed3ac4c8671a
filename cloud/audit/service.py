"""Writing and reading the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from cloud.audit.models import AuditEntry
from cloud.db.paging import fetch_page

SYSTEM_ACTOR = "system"


class Actor(Protocol):
    """Who did it (a signed-in ``cloud.auth.roles.Principal``): the audit log sits below access control."""

    @property
    def user_id(self) -> int: ...

    @property
    def username(self) -> str: ...


def record(db: Session, *, actor: Actor | None, action: str, entity: str, entity_id: object | None,
           now: datetime, before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
           actor_name: str | None = None) -> None:
    """Add one entry to the current transaction. ``actor=None`` is the system or the command line."""
    db.add(AuditEntry(at=now, actor_id=actor.user_id if actor else None,
                      actor_name=actor.username if actor else (actor_name or SYSTEM_ACTOR),
                      action=action, entity=entity, entity_id=None if entity_id is None else str(entity_id),
                      before=before, after=after))


def record_many(db: Session, *, actor: Actor, action: str, entity: str, now: datetime,
                rows: Sequence[tuple[object, dict[str, Any]]]) -> None:
    """Audit a bulk creation in one statement: ``rows`` are (entity id, after)."""
    if not rows:
        return
    db.execute(insert(AuditEntry), [
        {"at": now, "actor_id": actor.user_id, "actor_name": actor.username, "action": action, "entity": entity,
         "entity_id": str(entity_id), "before": None, "after": after} for entity_id, after in rows
    ])


def list_entries(db: Session, *, entity: str | None, entity_id: str | None, actor_id: int | None,
                 action: str | None, limit: int, offset: int) -> tuple[list[AuditEntry], int]:
    stmt = select(AuditEntry)
    if entity is not None:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    if actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    return fetch_page(db, stmt, order_by=AuditEntry.id.desc(), limit=limit, offset=offset)
