"""The app factory: ``create_app(settings)`` builds one FastAPI app around one database engine.

The app holds no state beyond the engine pool: any number of workers can serve the same database.
It refuses to start on a database whose schema is not at head, unless ``database.migrate_on_start``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import text

from cloud.alerts.router import router as alerts_router
from cloud.auth.audit_router import router as audit_router
from cloud.auth.passwords import Passwords
from cloud.auth.router import router as auth_router
from cloud.db.engine import Database
from cloud.db.migrate import ensure_migrated
from cloud.deps import DbSession
from cloud.devices.router import router as devices_router
from cloud.downlink.router import router as downlink_router
from cloud.downlink.sent_router import router as sent_commands_router
from cloud.downlink.trust_router import router as trust_router
from cloud.grid.router import GRID_IMPORT_PATH as GRIDS_IMPORT_PATH
from cloud.grid.router import IMPORT_PATH as GRID_IMPORT_PATH
from cloud.grid.router import SPACE_IMPORT_PATH
from cloud.grid.router import router as grid_router
from cloud.hazards.router import PHOTOS_PATH
from cloud.hazards.router import router as hazards_router
from cloud.http.bodylimit import BodyLimitMiddleware
from cloud.http.errors import install_error_handlers
from cloud.ingest.router import BATCHES_PATH_PATTERN
from cloud.ingest.router import router as ingest_router
from cloud.keys.router import router as keys_router
from cloud.keys.service import KeyStore, install, keys_dir
from cloud.live.router import router as live_router
from cloud.patrols.router import router as patrols_router
from cloud.permits.router import router as permits_router
from cloud.registry.enterprises_router import IMPORT_PATH
from cloud.registry.router import router as registry_router
from cloud.schedule.router import router as schedule_router
from cloud.settings import CONFIG_PATH_ENV, CloudSettings, load_settings
from cloud.telemetry.factory import close_sink, open_sink
from cloud.workers.router import router as workers_router
from safegrid import __version__

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: CloudSettings, *, clock: Clock = utc_now) -> FastAPI:
    database = Database.from_url(settings.database_url(), busy_timeout_ms=settings.database.busy_timeout_ms,
                                 pool_size=settings.database.pool_size)
    try:
        ensure_migrated(database.engine, migrate=settings.database.migrate_on_start)
    except BaseException:
        database.dispose()
        raise

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        close_sink(app.state.telemetry_sink)
        database.dispose()

    app = FastAPI(title="SafeGrid cloud", version=__version__, lifespan=lifespan,
                  description="Registries, access control and audit of the SafeGrid supervision platform. "
                              "Authenticate with POST /api/v1/auth/login, then send `Authorization: Bearer …`.")
    app.state.settings = settings
    app.state.database = database
    app.state.passwords = Passwords(settings.auth)
    app.state.clock = clock
    # The signing keys live beside the data (file 0600); read on use, so the service starts without them.
    app.state.keystore = install(KeyStore(keys_dir(settings.data_dir)))
    app.state.telemetry_sink = open_sink(settings.telemetry)
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api.max_body_bytes,
                       path_limits={IMPORT_PATH: settings.api.max_import_bytes,
                                    GRID_IMPORT_PATH: settings.api.max_import_bytes,
                                    SPACE_IMPORT_PATH: settings.api.max_import_bytes,
                                    GRIDS_IMPORT_PATH: settings.api.max_import_bytes,
                                    # a photo a little over its limit reaches the service, which names the field
                                    PHOTOS_PATH: 2 * settings.hazards.photo_max_bytes},
                       pattern_limits=[(BATCHES_PATH_PATTERN, settings.ingest.max_batch_bytes)])
    for router in (auth_router, audit_router, registry_router, ingest_router, alerts_router, live_router,
                   keys_router, devices_router, workers_router, permits_router, downlink_router, trust_router,
                   sent_commands_router, hazards_router, grid_router, schedule_router, patrols_router):
        app.include_router(router)

    @app.get("/healthz", tags=["health"])
    def health(db: DbSession) -> dict[str, str]:
        """The service is up and its database answers."""
        db.execute(text("SELECT 1"))
        return {"status": "ok"}

    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` worker processes: settings from ``SAFEGRID_CLOUD_CONFIG``."""
    return create_app(load_settings(os.environ.get(CONFIG_PATH_ENV) or None))
