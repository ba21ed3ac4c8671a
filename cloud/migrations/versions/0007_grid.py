"""Grid supervision: users bound to grids with a role (grid officer, area lead, rectification officer, other
force), read by the balance report.

Revision ID: 0007_grid
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_grid"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "grid_officer_bindings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], ondelete="RESTRICT",
                                name="fk_grid_officer_bindings_grid_id_grids"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="RESTRICT",
                                name="fk_grid_officer_bindings_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_grid_officer_bindings"),
        sa.UniqueConstraint("grid_id", "user_id", name="uq_grid_officer_bindings_grid_id_user_id"),
    )
    op.create_index("ix_grid_officer_bindings_grid_id", "grid_officer_bindings", ["grid_id"])
    op.create_index("ix_grid_officer_bindings_user_id", "grid_officer_bindings", ["user_id"])

def downgrade() -> None:
    op.drop_index("ix_grid_officer_bindings_user_id", "grid_officer_bindings")
    op.drop_index("ix_grid_officer_bindings_grid_id", "grid_officer_bindings")
    op.drop_table("grid_officer_bindings")
