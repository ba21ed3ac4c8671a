"""Named counters that only grow, safe with any number of processes.

``next_value`` increments the row with ``UPDATE … RETURNING``: the row lock (PostgreSQL) or the write lock
(SQLite, whose writers begin IMMEDIATE) is held until the transaction ends, so two workers never get the same
value, and a transaction that takes a counter first sees everything committed by the previous holder.
``hold`` takes the same lock without using a value (to order work on a gateway's commands); ``read`` and
``store`` serve the named time stamps kept beside the counters (when a gateway was last sent a ``time`` command).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cloud.downlink.models import Counter


def _ensure(db: Session, name: str) -> None:
    dialect = db.get_bind().dialect.name
    inserts: dict[str, Callable[[type[Counter]], PgInsert | SqliteInsert]] = {"postgresql": pg_insert,
                                                                               "sqlite": sqlite_insert}
    ins = inserts.get(dialect)
    if ins is None:
        db.execute(insert(Counter).values(name=name, value=0))
    else:
        # Two first-timers race to create the row: one inserts, the other does nothing, both then go on.
        db.execute(ins(Counter).values(name=name, value=0).on_conflict_do_nothing(index_elements=["name"]))


def next_value(db: Session, name: str) -> int:
    """The counter's next value (1 the first time)."""
    stmt = update(Counter).where(Counter.name == name).values(value=Counter.value + 1).returning(Counter.value)
    value = db.execute(stmt).scalar_one_or_none()
    if value is not None:
        return int(value)
    _ensure(db, name)
    return int(db.execute(stmt).scalar_one())


def hold(db: Session, name: str, *, skip_locked: bool = False) -> bool:
    """Lock the counter's row until the transaction ends (creating it at 0 if need be), as ``next_value`` would;
    with ``skip_locked``, False instead of waiting when another transaction holds it."""
    if read(db, name) is None:  # only then: creating must not touch a row another transaction holds
        _ensure(db, name)
    stmt = select(Counter.name).where(Counter.name == name).with_for_update(skip_locked=skip_locked)
    return db.execute(stmt).scalar_one_or_none() is not None


def read(db: Session, name: str) -> int | None:
    """The stored value, None when there is no such row."""
    value = db.execute(select(Counter.value).where(Counter.name == name)).scalar_one_or_none()
    return None if value is None else int(value)


def store(db: Session, name: str, value: int) -> None:
    """Set a named value (a time stamp, not a counter: it may go down with the clock). Callers serialise on a
    held counter, so the update-then-insert needs no race handling of its own."""
    result = db.execute(update(Counter).where(Counter.name == name).values(value=value))
    if not getattr(result, "rowcount", 0):
        _ensure(db, name)
        db.execute(update(Counter).where(Counter.name == name).values(value=value))
