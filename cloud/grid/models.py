"""Grid-domain tables: which user serves which grid, and in what role.

A grid officer's user scope (``cloud.auth``) decides what the officer may see; a binding here says what the
officer is responsible for. The balance report reads the bindings, so an officer with a grid scope but no
binding is reported as "without a grid" rather than silently counted.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base, UtcDateTime, str_enum


class BindingRole(StrEnum):
    GRID_OFFICER = "grid_officer"  # 网格员
    AREA_LEAD = "area_lead"  # 片区长 (a community committee member)
    RECTIFICATION_OFFICER = "rectification_officer"  # 整改专员
    OTHER_FORCE = "other_force"  # "N" other forces: police, volunteers, …


class OfficerBinding(Base):
    __tablename__ = "grid_officer_bindings"
    __table_args__ = (UniqueConstraint("grid_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id", ondelete="RESTRICT"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    role: Mapped[BindingRole] = mapped_column(str_enum(BindingRole))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Community(Base):
    """A community (社区) of a street: grids are drawn inside it."""

    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("street_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id", ondelete="RESTRICT"), index=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("streets.id", ondelete="RESTRICT"), index=True)


class GridArea(Base):
    """An optional area (片区) of a community grouping some of its grids, led by one area lead."""

    __tablename__ = "grid_areas"
    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="RESTRICT"), index=True)


class GridPlacement(Base):
    """Where a grid sits below its street: its community and, optionally, its area."""

    __tablename__ = "grid_placements"

    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id", ondelete="RESTRICT"), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="RESTRICT"), index=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("grid_areas.id", ondelete="RESTRICT"), index=True)
