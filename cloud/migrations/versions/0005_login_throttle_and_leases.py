"""Login throttle per client address (an index to count a client's failures), worker leases (the rules and
notification worker runs exactly once across processes), and a partial index of padlock audit records by time
(the refused-unlocks rule).

Revision ID: 0005
Revises: 0004_revocation_scope
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004_revocation_scope"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_login_attempts_client", "login_attempts", ["client", "at"])
    op.create_table(
        "worker_leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_worker_leases"),
    )


    where = sa.text("kind = 'lock_audit'")
    op.create_index("ix_uplink_records_lock_audit", "uplink_records", ["gateway_id", "at"],
                    postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    op.drop_index("ix_uplink_records_lock_audit", table_name="uplink_records")
    op.drop_table("worker_leases")
    op.drop_index("ix_login_attempts_client", table_name="login_attempts")
