"""scripts/bench_cloud.py's settle step on SQLite: it crashed on a fresh clone ("database table is locked" at the
WAL checkpoint, which ran inside the transaction the engine opens) so the API latency was never printed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from sqlalchemy import text

from cloud.db.engine import Database

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_cloud.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_cloud", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_cloud", module)
    spec.loader.exec_module(module)
    return module


def test_settle_checkpoints_a_sqlite_database_after_a_burst(tmp_path: Path) -> None:
    database = Database.from_url(f"sqlite:///{tmp_path / 'bench.db'}")
    try:
        with database.session(write=True) as db:
            db.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
            db.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "x" * 200}] * 5000)
            db.commit()
        wal = tmp_path / "bench.db-wal"
        assert wal.stat().st_size > 0
        assert _bench().settle(database) >= 0
        assert wal.stat().st_size == 0  # TRUNCATE: the checkpoint ran to the end
    finally:
        database.dispose()
