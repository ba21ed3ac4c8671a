"""Test helpers for the daemon tests: reading a running daemon's outbox and waiting for a condition. The test site
itself (keys, edge.toml, gas scenario, signed commands, padlock entries) is ``fwsim.stage.edge_site``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any


def outbox_rows(state_dir: Path) -> list[tuple[int, str, dict[str, Any]]]:
    """Every record in a (possibly running) daemon's outbox, read as another process would: read-only SQLite."""
    conn = sqlite3.connect(f"file:{state_dir / 'outbox.db'}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute("SELECT seq, kind, body FROM outbox ORDER BY seq").fetchall()
    finally:
        conn.close()
    return [(seq, kind, json.loads(body)) for seq, kind, body in rows]
