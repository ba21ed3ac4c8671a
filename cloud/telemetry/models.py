"""Telemetry tables: every gas reading (the SQL sink) and the latest reading per detector gas (always kept,
whatever the sink, for live operations).

``readings`` is the biggest table of a city: one row per gas value, keyed by where it came from
(gateway, epoch, seq, channel) so a duplicate can never double it. It carries no foreign keys — each would
cost an index probe per row at ingest and block partitioning by time (see docs/scale.md); the enterprise and
space ids are copied from the registry at ingest for one-comparison scope filters.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base, JsonDoc, UtcDateTime


class Reading(Base):
    __tablename__ = "readings"
    __table_args__ = (Index("ix_readings_space_at", "space_id", "at"),
                      Index("ix_readings_enterprise_at", "enterprise_id", "at"))

    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    channel: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)  # index in gases
    enterprise_id: Mapped[int] = mapped_column(Integer)
    space_id: Mapped[int | None] = mapped_column(Integer)  # the registry's space, when the gateway's id names one
    space_key: Mapped[str] = mapped_column(String(64))  # the space as the gateway names it
    detector_id: Mapped[str] = mapped_column(String(64))
    gas: Mapped[str] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Float)  # none when the detector gave none (fault, warm-up)
    unit: Mapped[str] = mapped_column(String(16))
    flags: Mapped[list[str] | None] = mapped_column(JsonDoc)  # gas and detector flags; none when there are none
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class LatestReading(Base):
    """The newest reading of each gas of each detector (by the gateway's clock)."""

    __tablename__ = "latest_readings"
    __table_args__ = (Index("ix_latest_readings_space_id", "space_id"),
                      Index("ix_latest_readings_enterprise_id", "enterprise_id"))

    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    detector_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    gas: Mapped[str] = mapped_column(String(16), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    space_id: Mapped[int | None] = mapped_column(Integer)
    space_key: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    flags: Mapped[list[str] | None] = mapped_column(JsonDoc)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
