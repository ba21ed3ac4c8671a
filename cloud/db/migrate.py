"""Alembic run from code: upgrade to head, and tell whether a database is at head.

Several processes may start at once with ``migrate_on_start``: the upgrade runs in one transaction that first
takes a lock (PostgreSQL advisory lock, SQLite write lock), so a second migrator waits, then finds nothing to do.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from cloud.db.engine import writer
from cloud.errors import NotMigrated

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_PG_LOCK_KEY = 0x5AFE_6121  # arbitrary, constant: the advisory lock all SafeGrid migrators agree on


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def is_at_head(engine: Engine) -> bool:
    return current_revisions(engine) == head_revisions()


def upgrade(engine: Engine, revision: str = "head") -> set[str]:
    """Apply pending migrations in one locked transaction; return the revisions now current."""
    with writer(engine).connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        command.upgrade(alembic_config(conn), revision)
    return current_revisions(engine)


def ensure_migrated(engine: Engine, *, migrate: bool) -> None:
    """Refuse a database that is not at head, unless told to migrate it now."""
    if is_at_head(engine):
        return
    if migrate:
        upgrade(engine)
        return
    raise NotMigrated("the database schema is not up to date: run `safegrid-cloud migrate` "
                      "(or set database.migrate_on_start = true)")
