"""The ledger's storage: one SQLite file (WAL, synchronous=FULL) behind aiosqlite.

Entries are appended one transaction at a time, each hashed onto the head held in memory, and the head only
advances once the row is committed, so a failed write leaves the chain as it was. After a restart the head is
the last stored row and the chain continues from it. :meth:`prune` drops old entries and keeps the pruned
head as the anchor the remaining chain is verified from. The ledger expects a modest rate (gas summaries, lock
audit entries, permit decisions, alarms), not every raw reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiosqlite
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.ledger.chain import (
    GENESIS,
    ChainVerifier,
    Entry,
    Fault,
    Head,
    LedgerError,
    Verification,
    canonical_json,
    chain_next,
)
from edge.ledger.signing import sign_head

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger (
    seq       INTEGER PRIMARY KEY,
    at_ms     INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    body      TEXT    NOT NULL,
    prev_hash BLOB    NOT NULL,
    hash      BLOB    NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger_anchor (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL
);
"""
_COLUMNS = "seq, at_ms, kind, body, prev_hash, hash"
_PAGE = 2000


def _row_export(row: Sequence[Any]) -> dict[str, Any]:
    """A stored row as an exported entry; a body that is not JSON stays a string so the verifier flags it."""
    seq, at_ms, kind, body, prev_hash, digest = row
    try:
        parsed: Any = json.loads(body)
    except (TypeError, ValueError):
        parsed = body
    return {"seq": seq, "at_ms": at_ms, "kind": kind, "body": parsed, "prev_hash": prev_hash, "hash": digest}


class Ledger:
    """The tamper-evident local log. Create with :meth:`open`, close with :meth:`close`."""

    def __init__(self, conn: aiosqlite.Connection, anchor: Head, head: Head) -> None:
        self._conn = conn
        self._anchor = anchor
        self._head = head
        self._lock = asyncio.Lock()  # one transaction at a time; appends chain in call order

    @classmethod
    async def open(cls, path: str | Path) -> Ledger:
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=FULL")
            await conn.executescript(_SCHEMA)
            anchor_rows = list(await conn.execute_fetchall("SELECT seq, hash FROM ledger_anchor WHERE id = 1"))
            last = list(await conn.execute_fetchall("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1"))
        except BaseException:
            await conn.close()
            raise
        anchor = Head(int(anchor_rows[0][0]), bytes(anchor_rows[0][1])) if anchor_rows else GENESIS
        # The chain continues from the last stored row, whatever it holds: if it was tampered with, verify()
        # reports where, and new entries still link to what is there.
        head = Head(int(last[0][0]), bytes(last[0][1])) if last else anchor
        return cls(conn, anchor, head)

    @property
    def head(self) -> Head:
        """The committed head: what is reported (and signed) to the cloud."""
        return self._head

    @property
    def anchor(self) -> Head:
        """The head the stored entries continue (the genesis until something is pruned)."""
        return self._anchor

    async def append(self, kind: str, at_ms: int, body: Mapping[str, Any]) -> Entry:
        """Chain one entry onto the head and commit it; returns the entry once it is on disk."""
        return (await self.append_many([(kind, at_ms, body)]))[0]

    async def append_many(self, items: Iterable[tuple[str, int, Mapping[str, Any]]]) -> list[Entry]:
        """Chain several entries in one transaction (one fsync)."""
        async with self._lock:
            head = self._head
            entries = []
            for kind, at_ms, body in items:
                entry = chain_next(head, at_ms, kind, body)
                entries.append(entry)
                head = entry.head
            if not entries:
                return []
            rows = [(e.seq, e.at_ms, e.kind, canonical_json(e.body).decode(), e.prev_hash, e.hash) for e in entries]
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                await self._conn.executemany(f"INSERT INTO ledger ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", rows)
                await self._conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    await self._conn.execute("ROLLBACK")
                raise
            self._head = head
            return entries

    async def rows(self, *, after_seq: int | None = None, limit: int | None = None) -> AsyncIterator[dict[str, Any]]:
        """Stored entries in seq order as exported entries, paged so a large ledger streams."""
        cursor = self._anchor.seq if after_seq is None else after_seq
        remaining = limit
        while remaining is None or remaining > 0:
            page = _PAGE if remaining is None else min(_PAGE, remaining)
            async with self._lock:
                fetched = list(await self._conn.execute_fetchall(
                    f"SELECT {_COLUMNS} FROM ledger WHERE seq > ? ORDER BY seq LIMIT ?", (cursor, page)))
            for row in fetched:
                yield _row_export(row)
            if len(fetched) < page:
                return
            cursor = int(fetched[-1][0])
            if remaining is not None:
                remaining -= len(fetched)

    async def export(self, *, after_seq: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Entries as plain JSON (hashes as hex) for an auditor or the cloud."""
        out = []
        async for row in self.rows(after_seq=after_seq, limit=limit):
            out.append({**row, "prev_hash": bytes(row["prev_hash"]).hex(), "hash": bytes(row["hash"]).hex()})
        return out

    async def verify(self, known_heads: Iterable[Head] = ()) -> Verification:
        """Verify every stored entry from the anchor; the result says where the chain breaks."""
        verifier = ChainVerifier(self._anchor, known_heads)
        async for row in self.rows():
            if not verifier.feed(row):
                break
        result = verifier.finish()
        if result.ok and result.head != self._head:
            # Every row checked out but the last one is not the head this process committed: rows were removed
            # (or added) behind its back.
            return Verification(False, result.checked, result.head,
                                fault=_head_fault(result, self._head))
        return result

    def signed_head(self, key: Ed25519PrivateKey) -> bytes:
        """The current head signed with the gateway key (see :mod:`edge.ledger.signing`)."""
        return sign_head(self._head, key)

    async def prune(self, upto_seq: int) -> int:
        """Delete entries up to ``upto_seq`` (≤ head), keeping that entry's head as the new anchor."""
        if not self._anchor.seq <= upto_seq <= self._head.seq:
            raise LedgerError(f"can prune between seq {self._anchor.seq} and {self._head.seq}, not {upto_seq}",
                              code="out_of_range", field="upto_seq")
        if upto_seq == self._anchor.seq:
            return 0
        async with self._lock:
            found = list(await self._conn.execute_fetchall("SELECT seq, hash FROM ledger WHERE seq = ?", (upto_seq,)))
            if not found:
                raise LedgerError(f"seq {upto_seq} is missing from the ledger", code="missing", field="upto_seq")
            anchor = Head(upto_seq, bytes(found[0][1]))
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                cur = await self._conn.execute("DELETE FROM ledger WHERE seq <= ?", (upto_seq,))
                deleted = cur.rowcount
                await self._conn.execute("INSERT OR REPLACE INTO ledger_anchor (id, seq, hash) VALUES (1, ?, ?)",
                                         (anchor.seq, anchor.hash))
                await self._conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    await self._conn.execute("ROLLBACK")
                raise
            self._anchor = anchor
            return deleted

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()


def _head_fault(result: Verification, expected: Head) -> Fault:
    if result.head.seq < expected.seq:
        return Fault("truncated", result.checked, None,
                     f"the stored chain ends at seq {result.head.seq}, the committed head is seq {expected.seq}")
    return Fault("head_mismatch", max(result.checked - 1, 0), result.head.seq,
                 f"the stored chain ends at seq {result.head.seq}, not at the committed head seq {expected.seq}")
