"""Database layer on real SQLite and PostgreSQL: pragmas, migrations from empty matching the models, start
refused on an unmigrated database, concurrent migrators."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from cloud.app import create_app
from cloud.audit.models import AuditEntry
from cloud.db.engine import Database, make_engine
from cloud.db.migrate import current_revisions, head_revisions, is_at_head, upgrade
from cloud.errors import NotMigrated
from cloud.metadata import load_metadata
from cloud.settings import CloudSettings
from tests.cloud.conftest import make_settings


def test_migrations_from_empty_reach_head_and_match_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revisions(engine) == set()
        assert upgrade(engine) == head_revisions()
        assert is_at_head(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), load_metadata())
        assert diff == []
        assert {"users", "enterprises", "confined_spaces", "audit_log"} <= set(inspect(engine).get_table_names())
        assert upgrade(engine) == head_revisions()  # idempotent
    finally:
        engine.dispose()


def test_app_refuses_an_unmigrated_database(db_url: str) -> None:
    with pytest.raises(NotMigrated) as err:
        create_app(make_settings(db_url))
    assert "safegrid-cloud migrate" in err.value.message


def test_app_migrates_at_start_when_told(db_url: str) -> None:
    settings = make_settings(db_url)
    settings = settings.model_copy(update={"database": settings.database.model_copy(update={"migrate_on_start": True})})
    create_app(settings)
    engine = make_engine(db_url)
    try:
        assert is_at_head(engine)
    finally:
        engine.dispose()


def test_two_migrators_at_once_both_succeed(db_url: str) -> None:
    engines = [make_engine(db_url), make_engine(db_url)]
    results: list[object] = []

    def run(i: int) -> None:
        try:
            results.append(upgrade(engines[i]))
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for e in engines:
        e.dispose()
    assert results == [head_revisions(), head_revisions()]


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path: object) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path}/sub/dir/x.db", busy_timeout_ms=1234)
    try:
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 1234
    finally:
        db.dispose()


def test_unsupported_and_in_memory_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="file"):
        make_engine("sqlite:///:memory:")
    with pytest.raises(ValueError, match="unsupported"):
        make_engine("mysql://u@h/db")


def test_datetimes_come_back_aware_utc(db_url: str) -> None:
    db = Database.from_url(db_url)
    try:
        upgrade(db.engine)
        at = datetime(2026, 1, 2, 11, 30, tzinfo=timezone(timedelta(hours=8)))
        with db.session(write=True) as s:
            s.add(AuditEntry(at=at, actor_name="t", action="x", entity="y"))
            s.commit()
        with db.session(write=False) as s:
            got = s.execute(select(AuditEntry.at)).scalar_one()
        assert got == at and got.tzinfo is not None and got.utcoffset() == timedelta(0)
        assert got.astimezone(UTC).hour == 3
        with db.session(write=True) as s, pytest.raises(Exception, match="naive"):
            s.add(AuditEntry(at=datetime(2026, 1, 1), actor_name="t", action="x", entity="y"))
            s.flush()
    finally:
        db.dispose()


def test_settings_url_reaches_the_engine(tmp_path: object) -> None:
    settings = CloudSettings.model_validate({"data_dir": str(tmp_path)})
    assert settings.database_url().endswith("/safegrid-cloud.db")


def test_a_postgresql_reader_holds_no_transaction_and_a_writer_does(postgres_url: str) -> None:
    """Readers run in autocommit on PostgreSQL: no BEGIN before and no ROLLBACK after a request's reads (two
    round trips each), so closing one sends nothing. A writer's statements still share one transaction."""
    from psycopg.pq import TransactionStatus

    database = Database.from_url(postgres_url)
    try:
        with database.session(write=False) as db:
            db.execute(text("SELECT 1"))
            assert db.connection().connection.dbapi_connection.info.transaction_status is TransactionStatus.IDLE
        with database.session(write=True) as db:
            db.execute(text("SELECT 1"))
            assert db.connection().connection.dbapi_connection.info.transaction_status is TransactionStatus.INTRANS
    finally:
        database.dispose()


def test_a_pooled_postgresql_connection_cut_while_idle_is_replaced(postgres_url: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """No ping on every checkout any more: one idle past PING_AFTER_IDLE_S is pinged, and a dead one replaced
    (the request does not fail) — as after a server restart or an idle-connection timeout."""
    from cloud.db import engine as engine_module

    database = Database.from_url(postgres_url, pool_size=1)
    try:
        with database.session(write=False) as db:
            victim = db.execute(text("SELECT pg_backend_pid()")).scalar_one()
        killer = make_engine(postgres_url)
        with killer.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim}).scalar_one()
        killer.dispose()
        monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)
        with database.session(write=False) as db:
            assert db.execute(text("SELECT pg_backend_pid()")).scalar_one() != victim
    finally:
        database.dispose()
