"""Engines and sessions for SQLite (a WAL file, foreign keys on, busy timeout) and PostgreSQL (psycopg 3).

SQLite's Python driver starts transactions lazily and never for DDL; we take over BEGIN ourselves so migrations
are transactional and writers start with ``BEGIN IMMEDIATE`` (a deferred reader that later writes can fail
with "database is locked" without waiting when another process committed meanwhile).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

_BEGIN_OPTION = "sqlite_begin"
#: A pooled PostgreSQL connection idle longer than this is pinged before use (see :func:`_ping_when_idle`).
PING_AFTER_IDLE_S = 1.0
_IDLE_SINCE = "safegrid_idle_since"


def _ensure_wal(cursor: Any, *, timeout_ms: int) -> None:
    """Switch a new database file to WAL (persistent, so later connections only read the mode).

    Switching takes an exclusive lock without consulting the busy handler, so two processes opening a fresh
    file at once can see "database is locked": retry within the busy timeout.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _sqlite_engine(url: str, *, busy_timeout_ms: int, pool_size: int) -> Engine:
    parsed = make_url(url)
    if not parsed.database or parsed.database == ":memory:":
        raise ValueError("SQLite needs a database file (several processes must share it)")
    Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, pool_size=pool_size, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # autocommit at the driver: BEGIN is ours (see module doc)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        _ensure_wal(cur, timeout_ms=busy_timeout_ms)
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get(_BEGIN_OPTION, "BEGIN"))

    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before use only when it has been idle over :data:`PING_AFTER_IDLE_S`.

    ``pool_pre_ping`` pings on every checkout: one more round trip, and CPU on both sides, per request. A
    connection reused within the second it was returned was alive then; one that sat idle (a quiet time, when a
    server restart or an idle timeout can have cut it) is checked first, and replaced if the check fails. A
    server restart under load can still fail the requests that used a connection in that second; the first
    such error makes the pool drop every connection made before it (SQLAlchemy's disconnect handling).
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since <= PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # any failure: the pool discards this connection and checks out another
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


def make_engine(url: str, *, busy_timeout_ms: int = 5000, pool_size: int = 5) -> Engine:
    """An engine for ``sqlite:///FILE`` or ``postgresql+psycopg://...``; other backends are refused."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, busy_timeout_ms=busy_timeout_ms, pool_size=pool_size)
    if backend == "postgresql":
        # No overflow: a connection made for a burst and closed right after costs a SCRAM handshake on both sides
        # (milliseconds of CPU each); under load that churn starved the workers. Requests wait for a pooled one.
        engine = create_engine(url, pool_size=pool_size, max_overflow=0, pool_timeout=30)
        _ping_when_idle(engine)
        return engine
    raise ValueError(f"unsupported database backend {backend!r} (use sqlite or postgresql+psycopg)")


def writer(engine: Engine) -> Engine:
    """The same engine, but its transactions take SQLite's write lock at BEGIN (no effect on PostgreSQL)."""
    return engine.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})


class Database:
    """One engine per process and the two kinds of session a request may need."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # A reader on PostgreSQL runs in autocommit: each statement is its own transaction, as each statement of
        # a READ COMMITTED transaction sees its own snapshot anyway, without the BEGIN and the ROLLBACK (two
        # round trips per request) around them. Readers never write (requests other than GET/HEAD/OPTIONS and
        # every worker that writes take a writer).
        reads = engine.execution_options(isolation_level="AUTOCOMMIT") if engine.dialect.name == "postgresql" \
            else engine
        self._readers = sessionmaker(reads, expire_on_commit=False, info={"write": False})
        self._writers = sessionmaker(writer(engine), expire_on_commit=False, info={"write": True})
        # Closing a session rolls back what it left open and returns its connection to the pool. On SQLite that
        # is a call into the library that never waits (WAL readers hold no lock; a writer rolls back its own),
        # and a PostgreSQL reader has no transaction to end (autocommit: nothing is sent), so the event loop may
        # do it; a PostgreSQL writer's rollback answers over the network, so a worker thread does it.
        self._sqlite = engine.dialect.name == "sqlite"

    @classmethod
    def from_url(cls, url: str, *, busy_timeout_ms: int = 5000, pool_size: int = 5) -> Database:
        return cls(make_engine(url, busy_timeout_ms=busy_timeout_ms, pool_size=pool_size))

    def session(self, *, write: bool) -> Session:
        return (self._writers if write else self._readers)()

    async def close_session(self, session: Session) -> None:
        """Close a request's session from async code without blocking the event loop on a database server."""
        if self._sqlite or not session.info.get("write", True):
            session.close()
            return
        # Shielded, and with its own limiter so it never waits for a free pool thread (as FastAPI closes its
        # sync generator dependencies): the connection must go back to the pool even if the client left.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(session.close, limiter=anyio.CapacityLimiter(1))

    def dispose(self) -> None:
        self.engine.dispose()
