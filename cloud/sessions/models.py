"""Confined-space sessions as the gateways report them, kept current for live operations.

A session row changes only for a record with a higher (epoch, seq) than the one it shows: batches reach the
cloud in any order, the state must follow the gateway's order.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base, UtcDateTime


class LiveSession(Base):
    __tablename__ = "live_sessions"
    __table_args__ = (Index("ix_live_sessions_open", "enterprise_id", "closed_at"),)

    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="RESTRICT"))
    space_id: Mapped[int | None] = mapped_column(ForeignKey("confined_spaces.id", ondelete="SET NULL"), index=True)
    space_key: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(48))
    permit_id: Mapped[str | None] = mapped_column(String(64))
    entrants: Mapped[int] = mapped_column(Integer, default=0)
    deadline_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)  # gateway clock of the first record seen
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)  # gateway clock of the record shown
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    epoch: Mapped[int] = mapped_column(Integer)  # (epoch, seq) of the record the row shows
    seq: Mapped[int] = mapped_column(BigInteger)
