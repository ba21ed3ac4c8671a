"""A named lease in the database: at most one process holds it at a time, across hosts, on SQLite and PostgreSQL.

A periodic job that must run exactly once across several processes (the alert rules and notification delivery)
takes the lease before each run. Taking it is one UPDATE that succeeds only when the lease is free, expired or
already ours, so two contenders can never both win: PostgreSQL's row lock and SQLite's single writer serialize
the UPDATEs, and the second one sees the first's holder. The holder renews it every run; a holder that dies
stops renewing and another process takes over once ``expires_at`` has passed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import String, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from cloud.db.base import Base, UtcDateTime

EXPIRED = datetime(1970, 1, 1, tzinfo=UTC)


class WorkerLease(Base):
    __tablename__ = "worker_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


def take_lease(db: Session, *, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew lease ``name`` for ``holder`` until ``now + ttl``, in ``db``'s (write) transaction; the
    caller commits. False when another holder's lease has not expired."""
    taken = db.execute(update(WorkerLease).where(
        WorkerLease.name == name, or_(WorkerLease.holder == holder, WorkerLease.expires_at <= now))
        .values(holder=holder, expires_at=now + ttl).execution_options(synchronize_session=False))
    if taken.rowcount == 1:  # type: ignore[attr-defined]  # a CursorResult, typed by Session.execute as Result
        return True
    if db.get(WorkerLease, name) is not None:
        return False  # held by another, not expired
    try:
        with db.begin_nested():  # the first ever: a concurrent first insert loses on the primary key
            db.add(WorkerLease(name=name, holder=holder, expires_at=now + ttl))
    except IntegrityError:
        return False
    return True


def release_lease(db: Session, *, name: str, holder: str) -> None:
    """Give the lease up at a clean stop, so another process need not wait for it to expire."""
    db.execute(update(WorkerLease).where(WorkerLease.name == name, WorkerLease.holder == holder)
               .values(expires_at=EXPIRED)
               .execution_options(synchronize_session=False))
