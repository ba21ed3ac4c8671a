"""Hazard tables: the hazard, its trace of steps (who, when, from → to, note), per-grid settings, stored photos.

A hazard belongs to an enterprise (visible where its enterprise is); its grid, street and district are copied
from the enterprise at report time so dispatch and escalation read one row. An IoT alert that opened a hazard is
referenced by its id as a plain integer (no import of the alerts domain).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base, JsonDoc, UtcDateTime, str_enum
from cloud.hazards.lifecycle import HazardState, Level, Mode, Severity


class Source(StrEnum):
    GRID_PATROL = "grid_patrol"
    PUBLIC_REPORT = "public_report"
    IOT_ALERT = "iot_alert"
    INSPECTION = "inspection"


class Hazard(Base):
    __tablename__ = "hazards"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[Source] = mapped_column(str_enum(Source))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="RESTRICT"), index=True)
    district_id: Mapped[int] = mapped_column(Integer, index=True)
    street_id: Mapped[int] = mapped_column(Integer, index=True)
    grid_id: Mapped[int] = mapped_column(Integer, index=True)
    description: Mapped[str] = mapped_column(String(2000))
    severity: Mapped[Severity] = mapped_column(str_enum(Severity))
    state: Mapped[HazardState] = mapped_column(str_enum(HazardState), index=True)
    mode: Mapped[Mode] = mapped_column(str_enum(Mode))
    level: Mapped[Level] = mapped_column(str_enum(Level))
    photos: Mapped[list[str]] = mapped_column(JsonDoc)  # SHA-256 hex of stored photos
    evidence_photos: Mapped[list[str]] = mapped_column(JsonDoc)
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime)
    assignee: Mapped[str | None] = mapped_column(String(200))  # the street office or department dispatched to
    alert_id: Mapped[int | None] = mapped_column(Integer)  # source iot_alert: the alert that opened it
    reporter_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reporter_name: Mapped[str] = mapped_column(String(64))
    reporter_contact: Mapped[str | None] = mapped_column(String(200))  # public reports: shown to supervisors only
    flagged_for_enforcement: Mapped[bool] = mapped_column(Boolean)
    flagged_for_enforcement_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class HazardEvent(Base):
    """One step of a hazard: the trace dispatch and escalation keep."""

    __tablename__ = "hazard_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazards.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(16))  # report, or a lifecycle Step
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    by_name: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(String(500))


class HazardGridSetting(Base):
    """Per grid: whether patrol and handling are separated or combined (no row: combined)."""

    __tablename__ = "hazard_grid_settings"

    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id", ondelete="CASCADE"), primary_key=True)
    mode: Mapped[Mode] = mapped_column(str_enum(Mode))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class HazardPhoto(Base):
    """A stored photo, by content: the same bytes twice are one row and one file."""

    __tablename__ = "hazard_photos"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer)
    stored_at: Mapped[datetime] = mapped_column(UtcDateTime)
