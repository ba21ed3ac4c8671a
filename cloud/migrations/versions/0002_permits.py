"""Devices (gateways, enrolment codes, certificates, device tokens, padlocks, detectors), workers, permits with
approvals, tokens and revocation lists, the downlink queue and its counters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), nullable=False)


def _fk(table: str, column: str, target: str, ondelete: str = "RESTRICT", key: str = "id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.{key}"], name=f"fk_{table}_{column}_{target}",
                                   ondelete=ondelete)


def _indexes(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(f"ix_{table}_{column}", table, [column])


def _stamps() -> list[sa.Column[object]]:
    return [sa.Column("created_at", _ts(), nullable=False), sa.Column("updated_at", _ts(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "gateways",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("signing_key", sa.String(64), nullable=True),
        sa.Column("last_seen_at", _ts(), nullable=True),
        *_stamps(),
        _fk("gateways", "enterprise_id", "enterprises"),
        sa.PrimaryKeyConstraint("id", name="pk_gateways"),
    )
    _indexes("gateways", "enterprise_id")
    op.create_table(
        "enrolment_codes", _id(),
        sa.Column("gateway_id", sa.String(64), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("expires_at", _ts(), nullable=False),
        sa.Column("used_at", _ts(), nullable=True),
        _fk("enrolment_codes", "gateway_id", "gateways", ondelete="CASCADE"),
        _fk("enrolment_codes", "created_by", "users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_enrolment_codes"),
        sa.UniqueConstraint("code_hash", name="uq_enrolment_codes_code_hash"),
    )
    _indexes("enrolment_codes", "gateway_id")
    op.create_table(
        "gateway_certificates",
        sa.Column("serial", sa.String(40), nullable=False),
        sa.Column("gateway_id", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("not_before", _ts(), nullable=False),
        sa.Column("not_after", _ts(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("revoked_at", _ts(), nullable=True),
        sa.Column("revoke_reason", sa.String(200), nullable=True),
        _fk("gateway_certificates", "gateway_id", "gateways", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("serial", name="pk_gateway_certificates"),
        sa.UniqueConstraint("fingerprint", name="uq_gateway_certificates_fingerprint"),
    )
    _indexes("gateway_certificates", "gateway_id")
    op.create_table(
        "device_tokens", _id(),
        sa.Column("gateway_id", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        _fk("device_tokens", "gateway_id", "gateways", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_device_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_device_tokens_token_hash"),
    )
    _indexes("device_tokens", "gateway_id")
    op.create_table(
        "padlocks", _id(),
        sa.Column("lock_id", sa.String(16), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("gateway_id", sa.String(64), nullable=True),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        *_stamps(),
        _fk("padlocks", "enterprise_id", "enterprises"),
        _fk("padlocks", "space_id", "confined_spaces"),
        _fk("padlocks", "gateway_id", "gateways", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_padlocks"),
        sa.UniqueConstraint("lock_id", name="uq_padlocks_lock_id"),
    )
    _indexes("padlocks", "enterprise_id", "space_id", "gateway_id")
    op.create_table(
        "detectors", _id(),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("gateway_id", sa.String(64), nullable=True),
        sa.Column("bus", sa.String(64), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        *_stamps(),
        _fk("detectors", "enterprise_id", "enterprises"),
        _fk("detectors", "space_id", "confined_spaces"),
        _fk("detectors", "gateway_id", "gateways", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_detectors"),
        sa.UniqueConstraint("gateway_id", "bus", "unit_id", name="uq_detectors_gateway_id_bus_unit_id"),
    )
    _indexes("detectors", "enterprise_id", "space_id", "gateway_id")
    op.create_table(
        "workers", _id(),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("phone_key", sa.String(64), nullable=True),
        sa.Column("training_valid_until", sa.Date(), nullable=True),
        sa.Column("certificates", _json(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        *_stamps(),
        _fk("workers", "enterprise_id", "enterprises"),
        _fk("workers", "user_id", "users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_workers"),
        sa.UniqueConstraint("uid", name="uq_workers_uid"),
        sa.UniqueConstraint("user_id", name="uq_workers_user_id"),
    )
    _indexes("workers", "enterprise_id")
    op.create_table(
        "permits", _id(),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("high_risk", sa.Boolean(), nullable=False),
        sa.Column("work_start", _ts(), nullable=False),
        sa.Column("work_end", _ts(), nullable=False),
        sa.Column("max_continuous_minutes", sa.Integer(), nullable=False),
        sa.Column("entrant_limit", sa.Integer(), nullable=False),
        sa.Column("gas_test_required", sa.Boolean(), nullable=False),
        sa.Column("ventilation_required", sa.Boolean(), nullable=False),
        sa.Column("attendant_id", sa.Integer(), nullable=False),
        sa.Column("entrant_ids", _json(), nullable=False),
        sa.Column("required_certificates", _json(), nullable=False),
        sa.Column("risk_identification", _json(), nullable=False),
        sa.Column("isolation", _json(), nullable=False),
        sa.Column("ventilation", sa.String(500), nullable=False),
        sa.Column("ppe", _json(), nullable=False),
        sa.Column("rescue_plan", sa.String(2000), nullable=False),
        sa.Column("pre_entry", _json(), nullable=True),
        sa.Column("applied_by", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(500), nullable=True),
        *_stamps(),
        _fk("permits", "enterprise_id", "enterprises"),
        _fk("permits", "space_id", "confined_spaces"),
        _fk("permits", "attendant_id", "workers"),
        _fk("permits", "applied_by", "users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_permits"),
        sa.UniqueConstraint("uid", name="uq_permits_uid"),
    )
    _indexes("permits", "enterprise_id", "space_id", "status", "attendant_id")
    op.create_table(
        "permit_approvals", _id(),
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("by_name", sa.String(64), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        _fk("permit_approvals", "permit_id", "permits", ondelete="CASCADE"),
        _fk("permit_approvals", "by_user_id", "users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_permit_approvals"),
    )
    _indexes("permit_approvals", "permit_id")
    op.create_table(
        "permit_tokens", _id(),
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("cti", sa.String(32), nullable=False),
        sa.Column("kid", sa.String(32), nullable=False),
        sa.Column("iat", sa.BigInteger(), nullable=False),
        sa.Column("exp", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.LargeBinary(), nullable=False),
        sa.Column("revoked_at", _ts(), nullable=True),
        _fk("permit_tokens", "permit_id", "permits", ondelete="CASCADE"),
        _fk("permit_tokens", "worker_id", "workers"),
        sa.PrimaryKeyConstraint("id", name="pk_permit_tokens"),
        sa.UniqueConstraint("cti", name="uq_permit_tokens_cti"),
    )
    _indexes("permit_tokens", "permit_id", "worker_id")
    op.create_table(
        "revocation_lists", _id(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("min_iat", sa.BigInteger(), nullable=False),
        sa.Column("revoked", _json(), nullable=False),
        sa.Column("signed", sa.LargeBinary(), nullable=False),
        _fk("revocation_lists", "space_id", "confined_spaces", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_revocation_lists"),
        sa.UniqueConstraint("version", name="uq_revocation_lists_version"),
    )
    _indexes("revocation_lists", "space_id")
    op.create_table(
        "counters",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_counters"),
    )
    op.create_table(
        "downlink_commands", _id(),
        sa.Column("gateway_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("issued_at", _ts(), nullable=False),
        sa.Column("expires_at", _ts(), nullable=False),
        sa.Column("signed", sa.Text(), nullable=False),
        sa.Column("published_at", _ts(), nullable=True),
        _fk("downlink_commands", "gateway_id", "gateways", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_downlink_commands"),
        sa.UniqueConstraint("gateway_id", "channel", "counter", name="uq_downlink_commands_gateway_id_channel_counter"),
    )
    _indexes("downlink_commands", "expires_at")
    op.create_index("ix_downlink_commands_pending", "downlink_commands", ["published_at", "gateway_id"])


def downgrade() -> None:
    for table in ("downlink_commands", "counters", "revocation_lists", "permit_tokens", "permit_approvals",
                  "permits", "workers", "detectors", "padlocks", "device_tokens", "gateway_certificates",
                  "enrolment_codes", "gateways"):
        op.drop_table(table)
