"""The complete schema: imports every domain's models so ``Base.metadata`` holds all tables.

A new domain adds its ``models`` import here; Alembic (``cloud/migrations/env.py``) and the schema-drift test
read the metadata through :func:`load_metadata`.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from cloud.db.base import Base


def load_metadata() -> MetaData:
    import cloud.audit.models
    import cloud.auth.models
    import cloud.registry.models  # noqa: F401

    return Base.metadata
