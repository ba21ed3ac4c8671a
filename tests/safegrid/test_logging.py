"""The JSON log is one JSON object per line, whoever wrote the line: the daemon through structlog, or a library
through the standard ``logging`` module (pymodbus writes "Failed to connect …" there)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# Run in a child process: logging configuration is global, and the test needs the real stderr.
SCRIPT = """
import asyncio, socket
import structlog
from pymodbus.client import AsyncModbusTcpClient
from safegrid.logging import configure_logging

configure_logging("INFO", json=True)
configure_logging("INFO", json=True)  # twice, as a test or a second command might: still one line per record
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
port = sock.getsockname()[1]
sock.close()  # nobody listens there now: pymodbus logs its failed connection


async def main() -> None:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=0.2, retries=0)
    assert not await client.connect()
    client.close()
    structlog.get_logger("edge.test").warning("own line", detector="det-1")

asyncio.run(main())
"""


def test_library_log_lines_are_json_too() -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # a plain-text line fails here
    library = [r for r in records if r.get("logger", "").startswith("pymodbus")]
    assert library and "Failed to connect" in library[0]["event"], records
    assert library[0]["level"] == "warning" and "timestamp" in library[0]
    own = [r for r in records if r["event"] == "own line"]
    assert len(own) == 1 and own[0]["detector"] == "det-1"
    assert len(library) == 1  # configured twice, still written once
