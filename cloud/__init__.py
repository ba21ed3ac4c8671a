"""The SafeGrid cloud service (FastAPI): registries, permits, ingestion, alerts, portraits, enforcement.

Organised by domain (``cloud/<domain>/`` with router, schemas, models, service). Never imports ``edge``.
"""
