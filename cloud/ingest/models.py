"""Tables of ingestion: every stored record keyed by (gateway, epoch, seq), summaries standing for seq ranges,
and one row per stream (gateway, epoch) holding its watermark and gaps.

The primary keys are the idempotency: a record whose key is stored is a duplicate, refused by the database
itself (INSERT … ON CONFLICT DO NOTHING), so any number of ingest workers may store the same batch at once.
Summaries live apart from records because a summary accounts for its whole range even when a record with its
own seq is already stored: the two must not compete for one key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base, JsonDoc, UtcDateTime


class IngestStream(Base):
    """What the cloud holds of one gateway epoch. The row is also the lock that serialises the watermark."""

    __tablename__ = "ingest_streams"

    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="RESTRICT"), index=True)
    watermark: Mapped[int] = mapped_column(BigInteger, default=0)  # every seq 1..watermark is accounted for
    gaps: Mapped[list[list[int]]] = mapped_column(JsonDoc)  # [[first, last], …] above the watermark
    records: Mapped[int] = mapped_column(BigInteger, default=0)  # records and summaries stored
    duplicates: Mapped[int] = mapped_column(BigInteger, default=0)  # records received again and ignored
    first_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime)


LOCK_AUDIT_ONLY = "kind = 'lock_audit'"


class UplinkRecord(Base):
    """One stored record. Telemetry keeps no body here: its values are in the telemetry sink."""

    __tablename__ = "uplink_records"
    # A gateway's padlock audit records by time (the refused-unlocks rule): partial, so telemetry pays nothing.
    __table_args__ = (Index("ix_uplink_records_lock_audit", "gateway_id", "at",
                            postgresql_where=text(LOCK_AUDIT_ONLY), sqlite_where=text(LOCK_AUDIT_ONLY)),)

    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime)  # when it happened, gateway clock
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    body: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)


class UplinkSummary(Base):
    """Telemetry the gateway folded: stands for every seq in ``seq..seq_to``."""

    __tablename__ = "uplink_summaries"

    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seq_to: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    from_at: Mapped[datetime] = mapped_column(UtcDateTime)
    to_at: Mapped[datetime] = mapped_column(UtcDateTime)
    series: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
