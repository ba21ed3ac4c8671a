"""The ledger on a real SQLite file: tampering with rows directly is found at its seq; restarts continue the chain."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from edge.ledger import GENESIS, Head, Ledger, LedgerError, verify_chain, verify_signed_head
from protocols import crypto
from protocols.vectorgen import seeded_key


async def filled(path: Path, n: int = 10) -> Ledger:
    ledger = await Ledger.open(path)
    for k in range(n):
        kind = ("gas_summary", "lock_audit", "permit_decision", "alarm")[k % 4]
        await ledger.append(kind, 1_767_225_600_000 + k * 1000, {"k": k, "space_id": "s-1"})
    return ledger


def tamper(path: Path, sql: str, *args: object) -> None:
    """Edit the file behind the daemon's back, as an intruder with a sqlite3 shell would."""
    conn = sqlite3.connect(path)
    try:
        conn.execute(sql, args)
        conn.commit()
    finally:
        conn.close()


async def test_append_export_verify(tmp_path: Path) -> None:
    ledger = await filled(tmp_path / "ledger.db")
    try:
        assert ledger.head.seq == 10
        exported = await ledger.export()
        assert [e["seq"] for e in exported] == list(range(1, 11))
        assert exported[0]["prev_hash"] == GENESIS.hash.hex() and exported[0]["body"] == {"k": 0, "space_id": "s-1"}
        assert verify_chain(exported, known_heads=[ledger.head]).ok
        result = await ledger.verify()
        assert result.ok and result.head == ledger.head and result.checked == 10
        assert [e["seq"] for e in await ledger.export(after_seq=7)] == [8, 9, 10]
        assert [e["seq"] for e in await ledger.export(after_seq=2, limit=3)] == [3, 4, 5]
    finally:
        await ledger.close()


async def test_wal_mode_on_disk(tmp_path: Path) -> None:
    ledger = await filled(tmp_path / "ledger.db", 1)
    await ledger.close()
    conn = sqlite3.connect(tmp_path / "ledger.db")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


async def test_a_row_edited_with_sqlite3_fails_verification_at_that_seq(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = await filled(path)
    try:
        tamper(path, "UPDATE ledger SET body = ? WHERE seq = 6", '{"k":5,"space_id":"s-2"}')
        result = await ledger.verify()
        assert not result.ok and result.fault is not None
        assert (result.fault.code, result.fault.seq) == ("altered", 6)
        assert result.checked == 5 and result.head.seq == 5  # everything before it still checks out
    finally:
        await ledger.close()


@pytest.mark.parametrize(("sql", "code", "seq"), [
    ("DELETE FROM ledger WHERE seq = 4", "unexpected_seq", 5),
    ("UPDATE ledger SET at_ms = at_ms + 1 WHERE seq = 3", "altered", 3),
    ("UPDATE ledger SET body = 'not json' WHERE seq = 2", "malformed", 2),
    ("UPDATE ledger SET kind = 'gas_summary' WHERE seq = 4", "altered", 4),
    ("UPDATE ledger SET seq = 100 WHERE seq = 7", "unexpected_seq", 8),
])
async def test_other_edits_are_located(tmp_path: Path, sql: str, code: str, seq: int) -> None:
    path = tmp_path / "ledger.db"
    ledger = await filled(path)
    try:
        tamper(path, sql)
        fault = (await ledger.verify()).fault
        assert fault is not None and (fault.code, fault.seq) == (code, seq)
    finally:
        await ledger.close()


async def test_deleting_the_tail_is_caught_against_the_committed_or_reported_head(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = await filled(path)
    reported = ledger.head
    tamper(path, "DELETE FROM ledger WHERE seq > 8")
    try:
        fault = (await ledger.verify()).fault
        assert fault is not None and fault.code == "truncated"
    finally:
        await ledger.close()
    # After a restart only the head reported to the cloud can tell: that is why it is reported.
    ledger = await Ledger.open(path)
    try:
        assert (await ledger.verify()).ok
        fault = (await ledger.verify(known_heads=[reported])).fault
        assert fault is not None and fault.code == "truncated"
    finally:
        await ledger.close()


async def test_restart_continues_the_chain_from_the_stored_head(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = await filled(path, 5)
    head = ledger.head
    await ledger.close()

    ledger = await Ledger.open(path)
    try:
        assert ledger.head == head
        entry = await ledger.append("alarm", 1_767_225_700_000, {"state": "raised"})
        assert entry.seq == 6 and entry.prev_hash == head.hash
        result = await ledger.verify(known_heads=[head])
        assert result.ok and result.head == entry.head
    finally:
        await ledger.close()


async def test_concurrent_appends_chain_in_order(tmp_path: Path) -> None:
    ledger = await Ledger.open(tmp_path / "ledger.db")
    try:
        entries = await asyncio.gather(*(ledger.append("gas_summary", k, {"k": k}) for k in range(50)))
        assert [e.seq for e in entries] == list(range(1, 51))
        batch = await ledger.append_many([("alarm", 60, {"a": 1}), ("alarm", 61, {"a": 2})])
        assert [e.seq for e in batch] == [51, 52] and await ledger.append_many([]) == []
        assert (await ledger.verify()).ok
    finally:
        await ledger.close()


async def test_a_refused_entry_leaves_the_head_unchanged(tmp_path: Path) -> None:
    ledger = await filled(tmp_path / "ledger.db", 3)
    try:
        head = ledger.head
        with pytest.raises(LedgerError):
            await ledger.append_many([("alarm", 1, {"ok": 1}), ("alarm", 2, {"bad": float("inf")})])
        assert ledger.head == head
        assert (await ledger.append("alarm", 3, {})).seq == 4
    finally:
        await ledger.close()


async def test_prune_keeps_an_anchor_that_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = await filled(path)
    full = await ledger.export()
    try:
        assert await ledger.prune(6) == 6
        assert ledger.anchor == Head(6, bytes.fromhex(full[5]["hash"]))
        assert [e["seq"] for e in await ledger.export()] == [7, 8, 9, 10]
        assert (await ledger.verify()).ok
        with pytest.raises(LedgerError):
            await ledger.prune(11)
    finally:
        await ledger.close()
    ledger = await Ledger.open(path)
    try:
        assert ledger.anchor.seq == 6 and ledger.head.seq == 10
        assert (await ledger.verify()).ok
        await ledger.prune(10)
        assert ledger.head.seq == 10 and await ledger.export() == []
        assert (await ledger.append("alarm", 0, {})).seq == 11
        assert (await ledger.verify()).ok
    finally:
        await ledger.close()


async def test_signed_head(tmp_path: Path) -> None:
    key = seeded_key("ledger-store-gateway")
    ledger = await filled(tmp_path / "ledger.db", 3)
    try:
        signed = ledger.signed_head(key)
        assert verify_signed_head(signed, {crypto.key_id(key): key.public_key()}) == ledger.head
    finally:
        await ledger.close()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge.ledger", *args], capture_output=True, text=True, timeout=60)


async def test_command_line_verify_and_export(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = await filled(path, 4)
    head = ledger.head
    await ledger.close()

    ok = run_cli("verify", str(path), "--head", f"{head.seq}:{head.hash.hex()}")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True and json.loads(ok.stdout)["head"] == head.to_json()
    lines = run_cli("export", str(path)).stdout.splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3, 4]

    tamper(path, "UPDATE ledger SET body = '{}' WHERE seq = 2")
    bad = run_cli("verify", str(path))
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["fault"]["seq"] == 2 and json.loads(bad.stdout)["fault"]["code"] == "altered"
    assert run_cli("verify", str(tmp_path / "none.db")).returncode == 2
    assert run_cli("verify", str(path), "--head", "3:zz").returncode == 2
