"""Registry tables. Streets, grids and enterprises carry their ancestors' ids so a scope filter is one comparison.

Those copies are set by the services from the parent and never accepted from a client: a street cannot move
to another district, a grid to another street; an enterprise that moves to another grid gets all three anew.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base, JsonDoc, UtcDateTime


class District(Base):
    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))


class Street(Base):
    __tablename__ = "streets"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id", ondelete="RESTRICT"), index=True)


class Grid(Base):
    __tablename__ = "grids"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id", ondelete="RESTRICT"), index=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("streets.id", ondelete="RESTRICT"), index=True)


class Enterprise(Base):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)  # unified social credit code, GB 32100
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(300))
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id", ondelete="RESTRICT"), index=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("streets.id", ondelete="RESTRICT"), index=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id", ondelete="RESTRICT"), index=True)
    scale: Mapped[str] = mapped_column(String(16))
    hazardous_chemicals: Mapped[bool] = mapped_column(default=False)
    dangerous_processes: Mapped[list[str]] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ConfinedSpace(Base):
    """A confined space (有限空间) with what guards it and its rescue card (attached to every alarm about it)."""

    __tablename__ = "confined_spaces"
    __table_args__ = (UniqueConstraint("enterprise_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(String(64))  # the enterprise's own label, e.g. painted on the hatch
    name: Mapped[str] = mapped_column(String(200))
    space_type: Mapped[str] = mapped_column(String(32))
    location: Mapped[str] = mapped_column(String(300))
    hazards: Mapped[list[str]] = mapped_column(JsonDoc)
    padlock_ids: Mapped[list[str]] = mapped_column(JsonDoc)
    detector_ids: Mapped[list[str]] = mapped_column(JsonDoc)
    gas_profile: Mapped[str] = mapped_column(String(64))
    siren_id: Mapped[str | None] = mapped_column(String(64))
    isolation_points: Mapped[list[str]] = mapped_column(JsonDoc)
    rescue_equipment: Mapped[list[str]] = mapped_column(JsonDoc)
    emergency_contacts: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc)
    rescue_notes: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    @property
    def rescue_card(self) -> dict[str, Any]:
        return {"hazards": self.hazards, "isolation_points": self.isolation_points,
                "rescue_equipment": self.rescue_equipment, "emergency_contacts": self.emergency_contacts,
                "rescue_notes": self.rescue_notes}
