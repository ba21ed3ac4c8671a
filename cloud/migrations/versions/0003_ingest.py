"""Ingestion and alerts: stored uplink records and summaries with per-stream watermarks, gas readings and the
latest reading per detector gas, live sessions, alerts and their events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Types spelled out here, not imported from the models: a migration must keep meaning what it meant.
ALERT_KINDS = ("alarm", "gateway_offline", "calibration_overdue", "session_without_gas", "permit_outside_window")
ALERT_STATES = ("raised", "acknowledged", "resolved")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _col(name: str, type_: sa.types.TypeEngine[Any] | type[sa.types.TypeEngine[Any]], *,
         nullable: bool = False, key: bool = False) -> sa.Column[object]:
    return sa.Column(name, type_, nullable=nullable, autoincrement=False if key else "auto")


def _fk(table: str, column: str, target: str, ondelete: str = "RESTRICT") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete)


def _stream_key() -> list[sa.Column[object]]:
    return [_col("gateway_id", sa.String(64)), _col("epoch", sa.Integer(), key=True),
            _col("seq", sa.BigInteger(), key=True)]


def upgrade() -> None:
    op.create_table(
        "ingest_streams",
        _col("gateway_id", sa.String(64)), _col("epoch", sa.Integer(), key=True),
        _col("enterprise_id", sa.Integer()),
        _col("watermark", sa.BigInteger()), _col("gaps", _json()),
        _col("records", sa.BigInteger()), _col("duplicates", sa.BigInteger()),
        _col("first_at", _ts()), _col("last_at", _ts()),
        _fk("ingest_streams", "enterprise_id", "enterprises"),
        sa.PrimaryKeyConstraint("gateway_id", "epoch", name="pk_ingest_streams"),
    )
    op.create_index("ix_ingest_streams_enterprise_id", "ingest_streams", ["enterprise_id"])
    op.create_table(
        "uplink_records", *_stream_key(),
        _col("kind", sa.String(16)), _col("at", _ts()), _col("received_at", _ts()),
        _col("body", _json(), nullable=True),
        sa.PrimaryKeyConstraint("gateway_id", "epoch", "seq", name="pk_uplink_records"),
    )
    op.create_table(
        "uplink_summaries", *_stream_key(),
        _col("seq_to", sa.BigInteger()), _col("count", sa.Integer()),
        _col("from_at", _ts()), _col("to_at", _ts()), _col("series", _json()), _col("received_at", _ts()),
        sa.PrimaryKeyConstraint("gateway_id", "epoch", "seq", name="pk_uplink_summaries"),
    )
    op.create_table(
        "readings", *_stream_key(), _col("channel", sa.SmallInteger(), key=True),
        _col("enterprise_id", sa.Integer()), _col("space_id", sa.Integer(), nullable=True),
        _col("space_key", sa.String(64)), _col("detector_id", sa.String(64)), _col("gas", sa.String(16)),
        _col("value", sa.Float(), nullable=True), _col("unit", sa.String(16)),
        _col("flags", _json(), nullable=True), _col("at", _ts()),
        sa.PrimaryKeyConstraint("gateway_id", "epoch", "seq", "channel", name="pk_readings"),
    )
    op.create_index("ix_readings_space_at", "readings", ["space_id", "at"])
    op.create_index("ix_readings_enterprise_at", "readings", ["enterprise_id", "at"])
    op.create_table(
        "latest_readings",
        _col("gateway_id", sa.String(64)), _col("detector_id", sa.String(64)), _col("gas", sa.String(16)),
        _col("enterprise_id", sa.Integer()), _col("space_id", sa.Integer(), nullable=True),
        _col("space_key", sa.String(64)), _col("value", sa.Float(), nullable=True), _col("unit", sa.String(16)),
        _col("flags", _json(), nullable=True), _col("at", _ts()),
        sa.PrimaryKeyConstraint("gateway_id", "detector_id", "gas", name="pk_latest_readings"),
    )
    op.create_index("ix_latest_readings_space_id", "latest_readings", ["space_id"])
    op.create_index("ix_latest_readings_enterprise_id", "latest_readings", ["enterprise_id"])
    op.create_table(
        "live_sessions",
        _col("gateway_id", sa.String(64)), _col("session_id", sa.String(64)),
        _col("enterprise_id", sa.Integer()), _col("space_id", sa.Integer(), nullable=True),
        _col("space_key", sa.String(64)), _col("state", sa.String(48)), _col("permit_id", sa.String(64), nullable=True),
        _col("entrants", sa.Integer()), _col("deadline_at", _ts(), nullable=True),
        _col("opened_at", _ts()), _col("updated_at", _ts()), _col("closed_at", _ts(), nullable=True),
        _col("epoch", sa.Integer()), _col("seq", sa.BigInteger()),
        _fk("live_sessions", "enterprise_id", "enterprises"),
        _fk("live_sessions", "space_id", "confined_spaces", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("gateway_id", "session_id", name="pk_live_sessions"),
    )
    op.create_index("ix_live_sessions_open", "live_sessions", ["enterprise_id", "closed_at"])
    op.create_index("ix_live_sessions_space_id", "live_sessions", ["space_id"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        _col("kind", sa.Enum(*ALERT_KINDS, name="alertkind", native_enum=False, length=32)),
        _col("state", sa.Enum(*ALERT_STATES, name="alertstate", native_enum=False, length=32)),
        _col("level", sa.SmallInteger()), _col("cause", sa.String(48)), _col("title", sa.String(200)),
        _col("source_key", sa.String(200), nullable=True),
        _col("enterprise_id", sa.Integer()), _col("space_id", sa.Integer(), nullable=True),
        *(_col(name, sa.String(64), nullable=True)
          for name in ("gateway_id", "space_key", "alarm_id", "session_id", "permit_id", "detector_id")),
        _col("data", _json()), _col("rescue_card", _json(), nullable=True),
        _col("raised_at", _ts()),
        _col("acknowledged_at", _ts(), nullable=True), _col("acknowledged_by_id", sa.Integer(), nullable=True),
        _col("acknowledged_by", sa.String(64), nullable=True),
        _col("resolved_at", _ts(), nullable=True), _col("resolved_by_id", sa.Integer(), nullable=True),
        _col("resolved_by", sa.String(64), nullable=True),
        _col("note", sa.String(300), nullable=True), _col("updated_at", _ts()),
        _fk("alerts", "enterprise_id", "enterprises"),
        _fk("alerts", "space_id", "confined_spaces", ondelete="SET NULL"),
        _fk("alerts", "acknowledged_by_id", "users", ondelete="SET NULL"),
        _fk("alerts", "resolved_by_id", "users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint("source_key", name="uq_alerts_source_key"),
    )
    op.create_index("ix_alerts_enterprise_raised", "alerts", ["enterprise_id", "raised_at"])
    for column in ("gateway_id", "raised_at", "space_id", "state"):
        op.create_index(f"ix_alerts_{column}", "alerts", [column])
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer(), nullable=False),
        _col("alert_id", sa.Integer()), _col("event", sa.String(16)), _col("at", _ts()), _col("actor", sa.String(64)),
        _col("delivered", sa.Boolean()), _col("attempts", sa.Integer()),
        _fk("alert_events", "alert_id", "alerts", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_events"),
    )
    op.create_index("ix_alert_events_alert_id", "alert_events", ["alert_id"])
    op.create_index("ix_alert_events_pending", "alert_events", ["delivered", "id"])


def downgrade() -> None:
    for table in ("alert_events", "alerts", "live_sessions", "latest_readings", "readings", "uplink_summaries",
                  "uplink_records", "ingest_streams"):
        op.drop_table(table)
