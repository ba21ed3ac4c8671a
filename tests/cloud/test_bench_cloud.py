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


def test_cpu_per_request_counts_the_server_and_its_worker_processes() -> None:
    """The CPU-per-request figure sums user and system time over the server process and its children (uvicorn's
    workers): a child that burns CPU is counted under its parent."""
    import os
    import subprocess

    bench = _bench()
    child = subprocess.Popen([sys.executable, "-c", "import sys, time\ninput()\nend = time.process_time() + 0.3\n"
                              "while time.process_time() < end: pass\nprint('done', flush=True)\ntime.sleep(30)"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.pid in bench.process_tree(os.getpid())
        before = bench.cpu_seconds([os.getpid()])
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "done"  # it burnt 0.3 s of CPU
        used = bench.cpu_used(before, bench.cpu_seconds([os.getpid()]))
        assert used >= 0.3
    finally:
        child.kill()
        child.wait()
