"""One page of a query and the total number of rows it matches."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


def fetch_page(db: Session, stmt: Select[T], *, order_by: Any, limit: int,
               offset: int) -> tuple[list[T], int]:
    rows = list(db.execute(stmt.order_by(order_by).limit(limit).offset(offset)).scalars().all())
    # A page that is not full, and not past the end, ends the result: the total is known without a COUNT(*),
    # which costs as much as the page query again (most lists in practice fit on their first page).
    if len(rows) < limit and (rows or offset == 0):
        return rows, offset + len(rows)
    total = db.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    return rows, int(total)
