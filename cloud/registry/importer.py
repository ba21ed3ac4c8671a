"""Bulk import of enterprises from a table: every row is checked first; any bad row means nothing is stored
and the answer lists each bad row with its field. Columns:

``uscc, name, industry, address, grid_code, scale, hazardous_chemicals, dangerous_processes``

``hazardous_chemicals`` is yes/no (true/false, 1/0, 是/否); ``dangerous_processes`` is separated by ``;``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from cloud.audit.service import record_many
from cloud.auth.roles import Principal
from cloud.errors import InvalidInput
from cloud.registry.enterprises_service import new_enterprise
from cloud.registry.models import Enterprise, Grid
from cloud.registry.schemas import EnterpriseIdentity, ImportRowError
from cloud.registry.uploads import read_table
from cloud.scope import grids_filter

COLUMNS = ("uscc", "name", "industry", "address", "grid_code", "scale", "hazardous_chemicals",
           "dangerous_processes")
_TRUE = frozenset({"true", "yes", "y", "1", "是"})
_FALSE = frozenset({"false", "no", "n", "0", "否", ""})
_MAX_REPORTED = 1000
_CHUNK = 500  # keeps IN (...) lists within every backend's parameter limit


class ImportRejected(InvalidInput):
    default_code = "import_rejected"

    def __init__(self, rows: list[ImportRowError]) -> None:
        super().__init__(f"{len(rows)} row error(s); nothing was imported", field="body")
        self.rows = rows

    def extra(self) -> dict[str, Any]:
        return {"rows": [r.model_dump() for r in self.rows[:_MAX_REPORTED]]}


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("expected yes or no")


def _existing_usccs(db: Session, usccs: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(usccs), _CHUNK):
        found.update(db.execute(select(Enterprise.uscc).where(Enterprise.uscc.in_(usccs[i:i + _CHUNK]))).scalars())
    return found


def import_enterprises(db: Session, *, actor: Principal, data: bytes, content_type: str | None, now: datetime,
                       max_rows: int, max_bytes: int) -> list[int]:
    """Validate every row, then insert all of them in the caller's transaction; returns the new ids."""
    rows = read_table(data, content_type=content_type, max_rows=max_rows, max_bytes=max_bytes, columns=COLUMNS)
    grids = {g.code: g for g in db.execute(select(Grid).where(grids_filter(actor))).scalars()}
    errors: list[ImportRowError] = []
    valid: list[tuple[EnterpriseIdentity, Grid]] = []
    seen: dict[str, int] = {}
    for number, row in rows:
        grid = grids.get(row["grid_code"])
        if grid is None:
            errors.append(ImportRowError(row=number, field="grid_code", message="no such grid in your scope"))
        try:
            hazardous = _flag(row["hazardous_chemicals"])
        except ValueError as exc:
            errors.append(ImportRowError(row=number, field="hazardous_chemicals", message=str(exc)))
            continue
        processes = [p.strip() for p in re.split(r"[;；]", row["dangerous_processes"]) if p.strip()]
        try:
            item = EnterpriseIdentity.model_validate({
                **{k: row[k] for k in ("uscc", "name", "industry", "address", "scale")},
                "hazardous_chemicals": hazardous, "dangerous_processes": processes})
        except ValidationError as exc:
            errors.extend(ImportRowError(row=number, field=str(e["loc"][0]) if e["loc"] else None, message=e["msg"])
                          for e in exc.errors())
            continue
        if item.uscc in seen:
            errors.append(ImportRowError(row=number, field="uscc", message=f"same code as row {seen[item.uscc]}"))
        seen.setdefault(item.uscc, number)
        if grid is not None:
            valid.append((item, grid))
    taken = _existing_usccs(db, list(seen))
    errors.extend(ImportRowError(row=seen[u], field="uscc", message="already registered") for u in sorted(taken))
    if errors:
        raise ImportRejected(sorted(errors, key=lambda e: e.row))
    if not valid:
        return []
    values = [_as_values(new_enterprise(item, grid=grid, now=now)) for item, grid in valid]
    ids = list(db.execute(insert(Enterprise).returning(Enterprise.id, sort_by_parameter_order=True), values).scalars())
    record_many(db, actor=actor, action="enterprise.import", entity="enterprise", now=now,
                rows=[(i, {**v, "id": i, "created_at": now.isoformat(), "updated_at": now.isoformat()})
                      for i, v in zip(ids, values, strict=True)])
    return ids


def _as_values(enterprise: Enterprise) -> dict[str, Any]:
    return {c.key: getattr(enterprise, c.key) for c in Enterprise.__table__.columns if c.key != "id"}
