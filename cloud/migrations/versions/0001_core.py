"""Core schema: registries (districts, streets, grids, enterprises, confined spaces), users and tokens,
login attempts, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Types spelled out here, not imported from the models: a migration must keep meaning what it meant.
ROLES = ("city_admin", "district_supervisor", "grid_officer", "law_enforcement_officer", "enterprise_manager",
         "approver", "attendant", "worker", "technician")
SCOPE_KINDS = ("city", "district", "street", "grid", "enterprise")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), nullable=False)


def _fk(table: str, column: str, target: str, ondelete: str = "RESTRICT") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete)


def _indexes(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(f"ix_{table}_{column}", table, [column])


def upgrade() -> None:
    op.create_table(
        "districts", _id(),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_districts"),
        sa.UniqueConstraint("code", name="uq_districts_code"),
    )
    op.create_table(
        "streets", _id(),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        _fk("streets", "district_id", "districts"),
        sa.PrimaryKeyConstraint("id", name="pk_streets"),
        sa.UniqueConstraint("code", name="uq_streets_code"),
    )
    _indexes("streets", "district_id")
    op.create_table(
        "grids", _id(),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=False),
        _fk("grids", "district_id", "districts"),
        _fk("grids", "street_id", "streets"),
        sa.PrimaryKeyConstraint("id", name="pk_grids"),
        sa.UniqueConstraint("code", name="uq_grids_code"),
    )
    _indexes("grids", "district_id", "street_id")
    op.create_table(
        "enterprises", _id(),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("industry", sa.String(100), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("scale", sa.String(16), nullable=False),
        sa.Column("hazardous_chemicals", sa.Boolean(), nullable=False),
        sa.Column("dangerous_processes", _json(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        _fk("enterprises", "district_id", "districts"),
        _fk("enterprises", "street_id", "streets"),
        _fk("enterprises", "grid_id", "grids"),
        sa.PrimaryKeyConstraint("id", name="pk_enterprises"),
        sa.UniqueConstraint("uscc", name="uq_enterprises_uscc"),
    )
    _indexes("enterprises", "district_id", "street_id", "grid_id")
    op.create_table(
        "confined_spaces", _id(),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("space_type", sa.String(32), nullable=False),
        sa.Column("location", sa.String(300), nullable=False),
        sa.Column("hazards", _json(), nullable=False),
        sa.Column("padlock_ids", _json(), nullable=False),
        sa.Column("detector_ids", _json(), nullable=False),
        sa.Column("gas_profile", sa.String(64), nullable=False),
        sa.Column("siren_id", sa.String(64), nullable=True),
        sa.Column("isolation_points", _json(), nullable=False),
        sa.Column("rescue_equipment", _json(), nullable=False),
        sa.Column("emergency_contacts", _json(), nullable=False),
        sa.Column("rescue_notes", sa.String(2000), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        _fk("confined_spaces", "enterprise_id", "enterprises"),
        sa.PrimaryKeyConstraint("id", name="pk_confined_spaces"),
        sa.UniqueConstraint("enterprise_id", "code", name="uq_confined_spaces_enterprise_id_code"),
    )
    _indexes("confined_spaces", "enterprise_id")
    op.create_table(
        "users", _id(),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.Enum(*ROLES, name="role", native_enum=False, length=32), nullable=False),
        sa.Column("scope_kind", sa.Enum(*SCOPE_KINDS, name="scopekind", native_enum=False, length=32),
                  nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        _fk("users", "district_id", "districts"),
        _fk("users", "street_id", "streets"),
        _fk("users", "grid_id", "grids"),
        _fk("users", "enterprise_id", "enterprises"),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    _indexes("users", "district_id", "street_id", "grid_id", "enterprise_id")
    op.create_table(
        "access_tokens", _id(),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("expires_at", _ts(), nullable=False),
        _fk("access_tokens", "user_id", "users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_access_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_access_tokens_token_hash"),
    )
    _indexes("access_tokens", "user_id", "expires_at")
    op.create_table(
        "login_attempts", _id(),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_attempts"),
    )
    op.create_index("ix_login_attempts_who", "login_attempts", ["username", "client", "at"])
    op.create_table(
        "audit_log", _id(),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=True),
        sa.Column("before", _json(), nullable=True),
        sa.Column("after", _json(), nullable=True),
        _fk("audit_log", "actor_id", "users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    _indexes("audit_log", "at", "actor_id")
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"])


def downgrade() -> None:
    for table in ("audit_log", "login_attempts", "access_tokens", "users", "confined_spaces", "enterprises",
                  "grids", "streets", "districts"):
        op.drop_table(table)
