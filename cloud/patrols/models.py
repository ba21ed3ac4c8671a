"""Patrol records and sync conflicts. A record's id is the UUID its phone made offline.

``hazard_id`` will name the hazard a finding became (the hazards domain's ``report_hazard``); nullable until then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base, JsonDoc, UtcDateTime


class PatrolRecord(Base):
    __tablename__ = "patrol_records"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # client-generated UUID
    task_id: Mapped[int | None] = mapped_column(ForeignKey("patrol_tasks.id", ondelete="SET NULL"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="RESTRICT"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id", ondelete="RESTRICT"), index=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("streets.id", ondelete="RESTRICT"), index=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id", ondelete="RESTRICT"), index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    visited_at: Mapped[datetime] = mapped_column(UtcDateTime)
    place: Mapped[str] = mapped_column(String(300))
    checklist: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc)
    photos: Mapped[list[str]] = mapped_column(JsonDoc)  # SHA-256 of photos in the photo store
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc)
    hazard_id: Mapped[int | None]
    content_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PatrolConflict(Base):
    """A record sent under an id already stored with other content: kept whole, for a person to resolve."""

    __tablename__ = "patrol_conflicts"
    __table_args__ = (Index("ix_patrol_conflicts_record_hash", "record_id", "content_hash", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("patrol_records.id", ondelete="CASCADE"))
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id", ondelete="RESTRICT"), index=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("streets.id", ondelete="RESTRICT"), index=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id", ondelete="RESTRICT"), index=True)
    sent_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    content_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
