"""One page of a query and the total number of rows it matches."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


def fetch_page(db: Session, stmt: Select[tuple[T]], *, order_by: Any, limit: int,
               offset: int) -> tuple[list[T], int]:
    total = db.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    rows = db.execute(stmt.order_by(order_by).limit(limit).offset(offset)).scalars().all()
    return list(rows), int(total)
