"""Alembic environment: migrates the connection handed over by ``cloud.db.migrate`` (or one made from the URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from cloud.db.engine import make_engine
from cloud.metadata import load_metadata

target_metadata = load_metadata()


def _run(connection: Connection) -> None:
    # Batch mode lets later migrations alter SQLite tables (it rebuilds them); a no-op on PostgreSQL.
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url: run migrations through `safegrid-cloud migrate`")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
