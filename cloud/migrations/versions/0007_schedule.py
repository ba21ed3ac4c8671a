"""Supervision schedule: frequency overrides, planning runs (seed and drawn set) and patrol tasks (issue 11).

Revision ID: 0007_schedule
Revises: 0007_grid
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_schedule"
down_revision: str | Sequence[str] | None = "0007_grid"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "schedule_frequencies",
        sa.Column("enterprise_id", sa.Integer(), sa.ForeignKey("enterprises.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("frequency", sa.String(16), nullable=False),
        sa.Column("set_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("set_at", _ts(), nullable=False),
    )
    op.create_table(
        "schedule_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("sample_rate", sa.Float(), nullable=False),
        sa.Column("sampled", _json(), nullable=False),
        sa.Column("tasks", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
    )
    op.create_table(
        "patrol_tasks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("enterprise_id", sa.Integer(), sa.ForeignKey("enterprises.id", ondelete="RESTRICT"),
                  nullable=False),
        sa.Column("district_id", sa.Integer(), sa.ForeignKey("districts.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("street_id", sa.Integer(), sa.ForeignKey("streets.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("grid_id", sa.Integer(), sa.ForeignKey("grids.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("officer_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("schedule_runs.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
    )
    for col in ("district_id", "street_id", "grid_id", "officer_id"):
        op.create_index(f"ix_patrol_tasks_{col}", "patrol_tasks", [col])
    op.create_index("ix_patrol_tasks_enterprise_start", "patrol_tasks", ["enterprise_id", "start"])


def downgrade() -> None:
    op.drop_table("patrol_tasks")
    op.drop_table("schedule_runs")
    op.drop_table("schedule_frequencies")
