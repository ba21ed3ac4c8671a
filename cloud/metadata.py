"""The complete schema: imports every domain's models so ``Base.metadata`` holds all tables.

A new domain adds its ``models`` import here; Alembic (``cloud/migrations/env.py``) and the schema-drift test
read the metadata through :func:`load_metadata`.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from cloud.db.base import Base


def load_metadata() -> MetaData:
    import cloud.alerts.models
    import cloud.audit.models
    import cloud.auth.models
    import cloud.db.lease
    import cloud.devices.models
    import cloud.downlink.models
    import cloud.grid.models
    import cloud.hazards.models
    import cloud.ingest.models
    import cloud.patrols.models
    import cloud.permits.models
    import cloud.registry.models
    import cloud.schedule.models
    import cloud.sessions.models
    import cloud.telemetry.models
    import cloud.workers.models  # noqa: F401

    return Base.metadata
