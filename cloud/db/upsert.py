"""``INSERT … ON CONFLICT`` for the session's dialect: SQLite and PostgreSQL spell it alike, SQLAlchemy needs the
dialect's own ``insert`` to build it. Idempotent writes (duplicates harmless) go through here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def dialect_insert(db: Session, table: Table | Any) -> Any:
    """The dialect's ``insert(table)`` (with ``on_conflict_do_nothing`` / ``on_conflict_do_update``)."""
    name = db.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"no INSERT … ON CONFLICT for dialect {name!r}")


def insert_ignoring_duplicates(db: Session, table: Table | Any, rows: list[dict[str, Any]],
                               returning: Any | None = None) -> list[Any]:
    """Insert ``rows``, skipping any whose key is already stored; with ``returning`` (a column) answer that
    column of the rows actually inserted, else ``[]``."""
    if not rows:
        return []
    stmt = dialect_insert(db, table).on_conflict_do_nothing()
    if returning is None:
        db.execute(stmt, rows)
        return []
    return list(db.execute(stmt.returning(returning), rows).scalars().all())


def bulk_insert_ignoring_duplicates(db: Session, table: Table | Any, columns: list[str],
                                    rows: list[tuple[Any, ...]]) -> None:
    """The fast path for many rows: one driver-level ``executemany`` of ``INSERT … ON CONFLICT DO NOTHING``,
    skipping SQLAlchemy's per-row parameter processing. ``rows`` must hold driver-ready values: datetimes
    through :func:`driver_datetime`, JSON as text (``json.dumps``)."""
    if not rows:
        return
    dialect = db.get_bind().dialect.name
    mark = "?" if dialect == "sqlite" else "%s"
    if dialect not in ("sqlite", "postgresql"):
        raise ValueError(f"no INSERT … ON CONFLICT for dialect {dialect!r}")
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))}) "
           "ON CONFLICT DO NOTHING")
    db.connection().exec_driver_sql(sql, rows)


def driver_datetime(db: Session, value: datetime) -> datetime:
    """An aware UTC datetime as the driver stores it (SQLite: naive UTC, like ``UtcDateTime``)."""
    return value.replace(tzinfo=None) if db.get_bind().dialect.name == "sqlite" else value
