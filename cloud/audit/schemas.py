"""Audit log as the API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cloud.schemas import Output


class AuditEntryOut(Output):
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    entity: str
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
