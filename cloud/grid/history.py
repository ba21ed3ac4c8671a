"""An enterprise's history (who changed what, when, old → new), read from the audit log its writes already keep:
every registry write to an enterprise records a before / after snapshot in the same transaction, so the history
cannot miss a change nor disagree with the audit. Pure diffing here; the query is :func:`enterprise_history`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.audit.models import AuditEntry
from cloud.registry.models import Enterprise

# Bookkeeping columns, not information about the enterprise.
_SKIPPED = frozenset({"id", "created_at", "updated_at"})


@dataclass(frozen=True)
class Change:
    at: datetime
    actor: str
    action: str
    field: str
    old: Any
    new: Any


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[tuple[str, Any, Any]]:
    """(field, old, new) for each field whose value differs, in field-name order; a missing side is ``None``."""
    old, new = before or {}, after or {}
    return [(k, old.get(k), new.get(k)) for k in sorted((old.keys() | new.keys()) - _SKIPPED)
            if old.get(k) != new.get(k)]


def enterprise_history(db: Session, *, enterprise: Enterprise, limit: int) -> list[Change]:
    """The enterprise's field changes, newest first (at most ``limit`` audit entries' worth)."""
    entries = db.execute(select(AuditEntry).where(AuditEntry.entity == "enterprise",
                                                  AuditEntry.entity_id == str(enterprise.id))
                         .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)).scalars()
    return [Change(at=e.at, actor=e.actor_name, action=e.action, field=f, old=o, new=n)
            for e in entries for f, o, n in diff(e.before, e.after)]
