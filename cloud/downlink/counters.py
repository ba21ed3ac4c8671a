"""Named counters that only grow, safe with any number of processes.

``next_value`` increments the row with ``UPDATE … RETURNING``: the row lock (PostgreSQL) or the write lock
(SQLite, whose writers begin IMMEDIATE) is held until the transaction ends, so two workers never get the same
value, and a transaction that takes a counter first sees everything committed by the previous holder.
"""

from __future__ import annotations

from sqlalchemy import insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cloud.downlink.models import Counter


def next_value(db: Session, name: str) -> int:
    """The counter's next value (1 the first time)."""
    stmt = update(Counter).where(Counter.name == name).values(value=Counter.value + 1).returning(Counter.value)
    value = db.execute(stmt).scalar_one_or_none()
    if value is not None:
        return int(value)
    dialect = db.get_bind().dialect.name
    ins = {"postgresql": pg_insert, "sqlite": sqlite_insert}.get(dialect)
    if ins is None:
        db.execute(insert(Counter).values(name=name, value=0))
    else:
        # Two first-timers race to create the row: one inserts, the other does nothing, both then increment.
        db.execute(ins(Counter).values(name=name, value=0).on_conflict_do_nothing(index_elements=["name"]))
    return int(db.execute(stmt).scalar_one())
