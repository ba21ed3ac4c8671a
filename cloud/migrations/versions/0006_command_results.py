"""What gateways report of the commands sent to them (``command_result``, ``protocols/uplink.md`` §5.3): the
result on the command row; an acknowledgement the gateway refused reopens its alert, with the refusal on the
alert and on the event that tells it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("downlink_commands") as batch:
        batch.add_column(sa.Column("result", sa.String(32), nullable=True))
        batch.add_column(sa.Column("result_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("verified", sa.Boolean(), nullable=True))
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("refusal", _json(), nullable=True))
    with op.batch_alter_table("alert_events") as batch:
        batch.add_column(sa.Column("code", sa.String(32), nullable=True))
        batch.add_column(sa.Column("detail", sa.String(300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_events") as batch:
        batch.drop_column("detail")
        batch.drop_column("code")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("refusal")
    with op.batch_alter_table("downlink_commands") as batch:
        batch.drop_column("verified")
        batch.drop_column("result_at")
        batch.drop_column("result")
