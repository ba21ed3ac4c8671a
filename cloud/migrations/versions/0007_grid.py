"""Grid supervision: communities (社区) and areas (片区) placing grids below their street; users bound to
grids with a role (grid officer, area lead, rectification officer, other force), read by the balance report.

Revision ID: 0007_grid
Revises: 0007_hazards
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_grid"
down_revision: str | Sequence[str] | None = "0007_hazards"
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
    op.create_table(
        "communities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["district_id"], ["districts.id"], ondelete="RESTRICT",
                                name="fk_communities_district_id_districts"),
        sa.ForeignKeyConstraint(["street_id"], ["streets.id"], ondelete="RESTRICT",
                                name="fk_communities_street_id_streets"),
        sa.PrimaryKeyConstraint("id", name="pk_communities"),
        sa.UniqueConstraint("street_id", "name", name="uq_communities_street_id_name"),
    )
    op.create_index("ix_communities_district_id", "communities", ["district_id"])
    op.create_index("ix_communities_street_id", "communities", ["street_id"])
    op.create_table(
        "grid_areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="RESTRICT",
                                name="fk_grid_areas_community_id_communities"),
        sa.PrimaryKeyConstraint("id", name="pk_grid_areas"),
        sa.UniqueConstraint("community_id", "name", name="uq_grid_areas_community_id_name"),
    )
    op.create_index("ix_grid_areas_community_id", "grid_areas", ["community_id"])
    op.create_table(
        "grid_placements",
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], ondelete="RESTRICT",
                                name="fk_grid_placements_grid_id_grids"),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="RESTRICT",
                                name="fk_grid_placements_community_id_communities"),
        sa.ForeignKeyConstraint(["area_id"], ["grid_areas.id"], ondelete="RESTRICT",
                                name="fk_grid_placements_area_id_grid_areas"),
        sa.PrimaryKeyConstraint("grid_id", name="pk_grid_placements"),
    )
    op.create_index("ix_grid_placements_community_id", "grid_placements", ["community_id"])
    op.create_index("ix_grid_placements_area_id", "grid_placements", ["area_id"])

def downgrade() -> None:
    op.drop_table("grid_placements")
    op.drop_table("grid_areas")
    op.drop_table("communities")
    op.drop_index("ix_grid_officer_bindings_user_id", "grid_officer_bindings")
    op.drop_index("ix_grid_officer_bindings_grid_id", "grid_officer_bindings")
    op.drop_table("grid_officer_bindings")
