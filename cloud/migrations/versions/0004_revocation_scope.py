"""Revocation lists are scoped: versions count per confined space (unique per space, not across all spaces),
and each list records the padlocks it is addressed to. The per-space counters start where each space's lists
got to under the shared counter, so no version is issued twice for a space.

Revision ID: 0004_revocation_scope
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_revocation_scope"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The counter of a space's list versions is named this prefix and the space's registry id (as in the models).
COUNTER_PREFIX = "revocation_list:"


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("revocation_lists") as batch:
        batch.add_column(sa.Column("lock_ids", _json(), nullable=False, server_default=sa.text("'[]'")))
        batch.drop_constraint("uq_revocation_lists_version", type_="unique")
        batch.create_unique_constraint("uq_revocation_lists_space_id_version", ["space_id", "version"])
    with op.batch_alter_table("revocation_lists") as batch:
        batch.alter_column("lock_ids", server_default=None, existing_type=_json(), existing_nullable=False)
    op.execute(sa.text(
        "INSERT INTO counters (name, value) SELECT :prefix || CAST(space_id AS VARCHAR(20)), MAX(version) "
        "FROM revocation_lists GROUP BY space_id").bindparams(prefix=COUNTER_PREFIX))


def downgrade() -> None:
    # Refused by the database once two spaces have lists of the same version (issued after this upgrade).
    op.execute(sa.text("DELETE FROM counters WHERE name LIKE :pattern").bindparams(pattern=COUNTER_PREFIX + "%"))
    with op.batch_alter_table("revocation_lists") as batch:
        batch.drop_constraint("uq_revocation_lists_space_id_version", type_="unique")
        batch.create_unique_constraint("uq_revocation_lists_version", ["version"])
        batch.drop_column("lock_ids")
