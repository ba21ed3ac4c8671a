"""The OS adapter on this machine's real kernel: boot id, clocks, adjtimex; timedatectl's output handling."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

from edge.clocktrust.system import (
    BOOT_ID_PATH,
    NTP_SYNCED_MAXERROR_US,
    adjtimex_status,
    ntp_status,
    parse_timedatectl,
    read_boot_id,
    read_clocks,
    timedatectl_status,
)

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux /proc and adjtimex")


@linux_only
def test_boot_id_is_this_boots_uuid() -> None:
    boot_id = read_boot_id()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", boot_id)
    assert boot_id == BOOT_ID_PATH.read_text().strip() == read_boot_id()


def test_clocks_reading() -> None:
    before = time.time_ns() // 1_000_000
    reading = read_clocks("b")
    after = time.time_ns() // 1_000_000
    assert before <= reading.wall_ms <= after and reading.boot_id == "b"
    assert read_clocks("b").mono >= reading.mono


@linux_only
def test_adjtimex_reads_the_kernels_ntp_state() -> None:
    status = adjtimex_status()
    assert status is not None and status.source == "adjtimex"
    assert status.maxerror_ms is not None and status.maxerror_ms >= 0
    assert status.synced == (status.maxerror_ms * 1000 < NTP_SYNCED_MAXERROR_US)


@linux_only
async def test_ntp_status_prefers_adjtimex() -> None:
    status = await ntp_status()
    assert status is not None and status.source == "adjtimex"


def test_parse_timedatectl() -> None:
    assert parse_timedatectl("yes\n") is True
    assert parse_timedatectl("no") is False
    assert parse_timedatectl("") is None
    assert parse_timedatectl("Failed to connect to bus") is None


def _script(tmp_path: Path, body: str) -> str:
    # Stands in for timedatectl, which needs systemd as PID 1 and a system bus (absent in test containers).
    path = tmp_path / "timedatectl"
    path.write_text(f"#!/bin/sh\n{body}\n")
    os.chmod(path, 0o755)
    return str(path)


async def test_timedatectl_answers(tmp_path: Path) -> None:
    status = await timedatectl_status(_script(tmp_path, 'test "$*" = "show -p NTPSynchronized --value" && echo yes'))
    assert status is not None and status.synced and status.maxerror_ms is None and status.source == "timedatectl"


async def test_timedatectl_failure_or_silence_is_unknown(tmp_path: Path) -> None:
    assert await timedatectl_status(_script(tmp_path, "echo 'Failed to connect to bus' >&2; exit 1")) is None
    assert await timedatectl_status(_script(tmp_path, "exec sleep 30"), timeout_s=0.2) is None
    assert await timedatectl_status(str(tmp_path / "missing")) is None
