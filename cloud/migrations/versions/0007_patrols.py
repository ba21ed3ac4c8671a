"""Patrol records (client-generated UUIDs, synced idempotently) and the conflicts kept beside them (issue 11).

Revision ID: 0007_patrols
Revises: 0007_schedule
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_patrols"
down_revision: str | Sequence[str] | None = "0007_schedule"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _areas() -> list[sa.Column[Any]]:
    return [sa.Column(f"{a}_id", sa.Integer(), sa.ForeignKey(f"{t}.id", ondelete="RESTRICT"), nullable=False)
            for a, t in (("district", "districts"), ("street", "streets"), ("grid", "grids"))]


def upgrade() -> None:
    op.create_table(
        "patrol_records",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("patrol_tasks.id", ondelete="SET NULL"), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), sa.ForeignKey("enterprises.id", ondelete="RESTRICT"),
                  nullable=False),
        *_areas(),
        sa.Column("officer_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(300), nullable=False),
        sa.Column("checklist", _json(), nullable=False),
        sa.Column("photos", _json(), nullable=False),
        sa.Column("findings", _json(), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    for col in ("task_id", "enterprise_id", "district_id", "street_id", "grid_id", "officer_id"):
        op.create_index(f"ix_patrol_records_{col}", "patrol_records", [col])
    op.create_table(
        "patrol_conflicts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("record_id", sa.String(36), sa.ForeignKey("patrol_records.id", ondelete="CASCADE"),
                  nullable=False),
        *_areas(),
        sa.Column("sent_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("body", _json(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    for col in ("district_id", "street_id", "grid_id"):
        op.create_index(f"ix_patrol_conflicts_{col}", "patrol_conflicts", [col])
    op.create_index("ix_patrol_conflicts_record_hash", "patrol_conflicts", ["record_id", "content_hash"],
                    unique=True)


def downgrade() -> None:
    op.drop_table("patrol_conflicts")
    op.drop_table("patrol_records")
