"""Hazards (隐患): the hazard with its lifecycle state, its trace of steps, per-grid patrol/handling mode, and
photos stored by content.

Revision ID: 0007_hazards
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_hazards"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _fk(table: str, column: str, target: str, ondelete: str = "RESTRICT") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}",
                                   ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "hazards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(2000), nullable=False),
        sa.Column("severity", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(32), nullable=False),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("photos", _json(), nullable=False),
        sa.Column("evidence_photos", _json(), nullable=False),
        sa.Column("deadline", _ts(), nullable=True),
        sa.Column("assignee", sa.String(200), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("reporter_user_id", sa.Integer(), nullable=True),
        sa.Column("reporter_name", sa.String(64), nullable=False),
        sa.Column("reporter_contact", sa.String(200), nullable=True),
        sa.Column("flagged_for_enforcement", sa.Boolean(), nullable=False),
        sa.Column("flagged_for_enforcement_at", _ts(), nullable=True),
        sa.Column("reported_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        _fk("hazards", "enterprise_id", "enterprises"),
        _fk("hazards", "reporter_user_id", "users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_hazards"),
    )
    for column in ("enterprise_id", "district_id", "street_id", "grid_id", "state"):
        op.create_index(f"ix_hazards_{column}", "hazards", [column])
    op.create_table(
        "hazard_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("by_name", sa.String(64), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        _fk("hazard_events", "hazard_id", "hazards", ondelete="CASCADE"),
        _fk("hazard_events", "by_user_id", "users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_hazard_events"),
    )
    op.create_index("ix_hazard_events_hazard_id", "hazard_events", ["hazard_id"])
    op.create_table(
        "hazard_grid_settings",
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(32), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        _fk("hazard_grid_settings", "grid_id", "grids", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("grid_id", name="pk_hazard_grid_settings"),
    )
    op.create_table(
        "hazard_photos",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("stored_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_hazard_photos"),
    )


def downgrade() -> None:
    op.drop_table("hazard_photos")
    op.drop_table("hazard_grid_settings")
    op.drop_index("ix_hazard_events_hazard_id", table_name="hazard_events")
    op.drop_table("hazard_events")
    for column in ("enterprise_id", "district_id", "street_id", "grid_id", "state"):
        op.drop_index(f"ix_hazards_{column}", table_name="hazards")
    op.drop_table("hazards")
