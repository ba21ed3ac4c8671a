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

from cloud.audit.router import router as audit_router
from cloud.auth.passwords import Passwords
from cloud.auth.router import router as auth_router
from cloud.db.engine import Database
from cloud.db.migrate import ensure_migrated
from cloud.deps import DbSession
from cloud.http.bodylimit import BodyLimitMiddleware
from cloud.http.errors import install_error_handlers
from cloud.registry.enterprises_router import IMPORT_PATH
from cloud.registry.router import router as registry_router
from cloud.settings import CONFIG_PATH_ENV, CloudSettings, load_settings
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
        database.dispose()

    app = FastAPI(title="SafeGrid cloud", version=__version__, lifespan=lifespan,
                  description="Registries, access control and audit of the SafeGrid supervision platform. "
                              "Authenticate with POST /api/v1/auth/login, then send `Authorization: Bearer …`.")
    app.state.settings = settings
    app.state.database = database
    app.state.passwords = Passwords(settings.auth)
    app.state.clock = clock
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api.max_body_bytes,  # type: ignore[arg-type]
                       path_limits={IMPORT_PATH: settings.api.max_import_bytes})
    for router in (auth_router, audit_router, registry_router):
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
