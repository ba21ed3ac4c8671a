"""The rig's PostgreSQL fixtures: a private cluster, independent fresh databases, SQLAlchemy URLs."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from fwsim.rig.postgres import PostgresCluster


def test_psycopg_connects_with_the_session_password(postgres: PostgresCluster) -> None:
    with psycopg.connect(postgres.dsn) as connection:
        version = connection.execute("SHOW server_version_num").fetchone()
    assert version is not None and int(version[0]) >= 130000  # DROP DATABASE … WITH (FORCE) needs 13+


def test_a_wrong_password_is_refused(postgres: PostgresCluster) -> None:
    wrong = postgres.dsn.replace(f"password={postgres.password}", "password=not-the-password")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong)


def test_create_database_gives_independent_empty_databases(postgres: PostgresCluster) -> None:
    first = sa.create_engine(postgres.create_database())
    second = sa.create_engine(postgres.create_database())
    try:
        with first.begin() as connection:
            connection.execute(sa.text("CREATE TABLE permit (id integer PRIMARY KEY)"))
            connection.execute(sa.text("INSERT INTO permit VALUES (1)"))
        assert "permit" in sa.inspect(first).get_table_names()
        assert sa.inspect(second).get_table_names() == []
        assert first.url.database != second.url.database
        assert first.url.drivername == "postgresql+psycopg"
    finally:
        first.dispose()
        second.dispose()


def test_create_database_takes_a_chosen_name_and_refuses_unsafe_ones(postgres: PostgresCluster) -> None:
    url = postgres.create_database("rig_named_db")
    assert url.endswith("/rig_named_db")
    postgres.drop_database("rig_named_db")
    with pytest.raises(ValueError, match="must match"):
        postgres.create_database('x"; DROP DATABASE postgres; --')


def test_postgres_url_is_a_fresh_database_that_sqlalchemy_uses(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT current_database()")).scalar_one() == engine.url.database
            tables = sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            assert connection.execute(tables).scalar_one() == 0
    finally:
        engine.dispose()


def test_cluster_runs_as_the_postgres_user_when_the_suite_is_root(postgres: PostgresCluster) -> None:
    pid = postgres.postmaster_pid()
    assert pid is not None
    owner_uid = Path(f"/proc/{pid}").stat().st_uid
    if os.geteuid() == 0:
        assert owner_uid != 0
    else:
        assert owner_uid == os.geteuid()
