"""The outbox store: SQLite (WAL, synchronous=FULL) behind aiosqlite, with group commit.

``append`` numbers a record with the gateway's next seq at once (before anything else happens to it) and
returns when the record is committed to disk. Appends that arrive while a commit is running are committed
together in the next one (group commit), so many writers share one fsync and latency stays bounded by about
two commit times. Readers only ever see committed rows: a row read for the uplink can never vanish in a
crash and have its seq reused for another record.

The seq counter is stored in the same transaction as the rows, so after a crash numbering resumes exactly
after the last committed record: no gap for the cloud to wait on, no seq used twice. With a
:class:`~edge.outbox.floor.SeqFloor` the outbox also reserves seqs ahead in a file of its own, so that a new
outbox replacing a lost one continues above every seq the lost one used (:meth:`Outbox.continue_after_loss`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from edge.outbox.compaction import Slot, plan_runs
from edge.outbox.floor import BLOCK, SeqFloor

Summarizer = Callable[[Sequence["OutboxRecord"]], dict[str, Any]]
StoredRow = tuple[int, int, str, int, str]  # seq, seq_to, kind, at_ms, body as JSON text

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq     INTEGER PRIMARY KEY,
    seq_to  INTEGER NOT NULL,
    kind    TEXT    NOT NULL,
    at_ms   INTEGER NOT NULL,
    body    TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class OutboxError(Exception):
    """The outbox cannot store or serve records (a disk or database failure is fatal for the daemon)."""


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    seq: int
    seq_to: int  # equals seq, except for a summary record standing for seq..seq_to
    kind: str
    at_ms: int
    body: dict[str, Any]


def default_summary(records: Sequence[OutboxRecord]) -> dict[str, Any]:
    """A summary body: how many telemetry records it stands for and their time span."""
    return {"count": len(records), "from_ms": records[0].at_ms, "to_ms": records[-1].at_ms}


def default_summary_of_loss(at_ms: int) -> dict[str, Any]:
    """The body of a summary standing for a lost outbox's range: what it held is unknown, so the least a
    summary may say (one record, at the time of the loss); the ``storage_lost`` event tells the rest."""
    return {"count": 1, "from_ms": at_ms, "to_ms": at_ms}


class Outbox:
    """Durable, numbered, acknowledged store-and-forward queue. Create with :meth:`open`."""

    def __init__(self, conn: aiosqlite.Connection, *, epoch: int, next_seq: int, count: int, cap: int,
                 span: int, max_batch: int, summarizer: Summarizer, floor: SeqFloor | None = None) -> None:
        self._conn = conn
        self.floor = floor
        self.epoch = epoch
        self._next_seq = next_seq
        self._count = count
        self._cap = cap
        self._span = span
        self._max_batch = max_batch
        self._summarizer = summarizer
        self._queue: list[tuple[tuple[int, int, str, int, str], asyncio.Future[int]]] = []
        self._wake = asyncio.Event()
        self._db_lock = asyncio.Lock()  # one transaction or read at a time on the connection
        self._failed: BaseException | None = None
        self._closing = False
        self._inflight: list[tuple[tuple[int, int, str, int, str], asyncio.Future[int]]] = []
        self.commits = 0
        self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name="outbox-writer")

    @classmethod
    async def open(cls, path: str | Path, *, epoch: int = 1, cap: int = 1_000_000, span: int = 60,
                   max_batch: int = 5000, summarizer: Summarizer = default_summary,
                   floor: SeqFloor | None = None) -> Outbox:
        """Open (or create) the outbox at ``path``. ``cap`` is the record count above which old telemetry
        is folded into summaries; ``span`` is how many telemetry records one summary may stand for; ``floor``
        (if given) is kept a block ahead of the seqs used, and restarted when it is of another epoch."""
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=FULL")
            await conn.executescript(_SCHEMA)
            await conn.execute("INSERT OR IGNORE INTO meta VALUES ('epoch', ?)", (epoch,))
            await conn.execute("INSERT OR IGNORE INTO meta VALUES ('next_seq', 1)")
            meta = dict(await conn.execute_fetchall("SELECT key, value FROM meta"))
            (count,) = (await conn.execute_fetchall("SELECT COUNT(*) FROM outbox"))[0]
            (top,) = (await conn.execute_fetchall("SELECT COALESCE(MAX(seq_to), 0) FROM outbox"))[0]
        except BaseException:
            await conn.close()
            raise
        next_seq = max(int(meta["next_seq"]), int(top) + 1)
        if floor is not None:
            if floor.epoch != int(meta["epoch"]):  # a new epoch numbers from 1 again: so does its floor
                floor = SeqFloor(floor.path, int(meta["epoch"]), 1)
            if floor.reserved <= next_seq:
                floor.reserve(next_seq + BLOCK)
        return cls(conn, epoch=int(meta["epoch"]), next_seq=next_seq, count=int(count), cap=cap, span=span,
                   max_batch=max_batch, summarizer=summarizer, floor=floor)

    async def continue_after_loss(self, start: int, lost: Sequence[tuple[int, int]], at_ms: int) -> None:
        """This new, empty outbox replaces lost ones of the same epoch: number from ``start`` on, and store a
        summary record for each ``lost`` seq range so that the cloud's watermark can pass it (see
        :mod:`edge.outbox.floor`). Call once, right after :meth:`open`, before any append."""
        if self._count or self._queue or self._next_seq != 1:
            raise OutboxError("only a new, empty outbox continues a lost one")
        if any(not 1 <= a <= b < start for a, b in lost):
            raise OutboxError(f"lost ranges {list(lost)} must lie below the new start {start}")
        body = json.dumps(default_summary_of_loss(at_ms), separators=(",", ":"))
        rows = [(a, b, "summary", at_ms, body) for a, b in lost]
        async with self._db_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                await self._conn.executemany("INSERT INTO outbox VALUES (?, ?, ?, ?, ?)", rows)
                await self._conn.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (start,))
                await self._conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    await self._conn.execute("ROLLBACK")
                raise
        self._next_seq = start
        self._count += len(rows)

    # -- writing -------------------------------------------------------------------------------------------

    def append_nowait(self, kind: str, at_ms: int, body: dict[str, Any]) -> tuple[int, asyncio.Future[int]]:
        """Number the record now and queue it; the future resolves with its seq once it is on disk."""
        if self._failed is not None:
            raise OutboxError("the outbox has failed and accepts nothing more") from self._failed
        seq = self._next_seq
        self._next_seq += 1
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        row = (seq, seq, kind, at_ms, json.dumps(body, separators=(",", ":")))
        self._queue.append((row, fut))
        self._wake.set()
        return seq, fut

    async def append(self, kind: str, at_ms: int, body: dict[str, Any]) -> int:
        """Store one record durably; returns its seq once committed."""
        _seq, fut = self.append_nowait(kind, at_ms, body)
        return await fut

    async def _write_loop(self) -> None:
        while not (self._closing and not self._queue):
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch:]
                self._inflight = batch
                try:
                    await self._commit(batch)
                except Exception as exc:  # the disk failed: fail every waiter, refuse further appends
                    self._failed = exc
                    for _row, fut in batch + self._queue:
                        if not fut.done():
                            fut.set_exception(OutboxError(f"outbox write failed: {exc}"))
                    self._queue.clear()
                    return
                for row, fut in batch:
                    if not fut.done():
                        fut.set_result(row[0])
            if self._count > self._cap:
                try:
                    await self._compact()
                except Exception as exc:
                    self._failed = exc
                    return

    async def _commit(self, batch: list[tuple[tuple[int, int, str, int, str], asyncio.Future[int]]]) -> None:
        rows = [row for row, _fut in batch]
        if self.floor is not None and rows[-1][0] >= self.floor.reserved:
            # Reserved before the rows commit: a seq the cloud can hold is always below the floor on disk. A tiny
            # atomic write once per BLOCK records, in the loop like the state file's (no thread left behind).
            self.floor.reserve(rows[-1][0] + BLOCK)
        async with self._db_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                await self._conn.executemany("INSERT INTO outbox VALUES (?, ?, ?, ?, ?)", rows)
                await self._conn.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (rows[-1][0] + 1,))
                await self._conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    await self._conn.execute("ROLLBACK")
                raise
        self._count += len(rows)
        self.commits += 1

    async def _compact(self) -> None:
        """Fold the oldest telemetry runs into summary records until under the cap (never alarms/events)."""
        excess = self._count - self._cap
        async with self._db_lock:
            fetched = await self._conn.execute_fetchall(
                "SELECT seq, seq_to, kind, at_ms, body FROM outbox ORDER BY seq LIMIT ?",
                (max(excess * 2, self._span * 4),))
            rows = [OutboxRecord(s, t, k, a, json.loads(b)) for s, t, k, a, b in fetched]
            runs = plan_runs([Slot(r.seq, r.seq_to, r.kind) for r in rows], span=self._span)
            if not runs:
                return
            await self._conn.execute("BEGIN IMMEDIATE")
            removed = 0
            try:
                for first, last in runs:
                    run = rows[first:last + 1]
                    body = json.dumps(self._summarizer(run), separators=(",", ":"))
                    await self._conn.execute("DELETE FROM outbox WHERE seq BETWEEN ? AND ?",
                                             (run[0].seq, run[-1].seq_to))
                    await self._conn.execute("INSERT INTO outbox VALUES (?, ?, 'summary', ?, ?)",
                                             (run[0].seq, run[-1].seq_to, run[0].at_ms, body))
                    removed += len(run) - 1
                    if removed >= excess:
                        break
                await self._conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    await self._conn.execute("ROLLBACK")
                raise
        self._count -= removed

    # -- reading and acknowledging ---------------------------------------------------------------------

    async def pending(self, limit: int, *, after_seq: int = 0) -> list[OutboxRecord]:
        """Committed records not yet acknowledged, oldest first, with seq greater than ``after_seq``."""
        rows = await self.pending_rows(limit, after_seq=after_seq)
        return [OutboxRecord(s, t, k, a, json.loads(b)) for s, t, k, a, b in rows]

    async def pending_rows(self, limit: int, *, after_seq: int = 0) -> list[StoredRow]:
        """As :meth:`pending`, each record as its stored row ``(seq, seq_to, kind, at_ms, body JSON text)``: what
        the uplink splices into a batch (``protocols.uplink.encode_stored``) without parsing the bodies again."""
        async with self._db_lock:
            fetched = await self._conn.execute_fetchall(
                "SELECT seq, seq_to, kind, at_ms, body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit))
        return [(s, t, k, a, b) for s, t, k, a, b in fetched]

    async def acknowledge(self, upto_seq: int) -> int:
        """The cloud has stored everything up to ``upto_seq``: delete exactly that, return how many rows."""
        if upto_seq >= self._next_seq:
            raise OutboxError(f"acknowledgement of seq {upto_seq} beyond the last assigned {self._next_seq - 1}")
        async with self._db_lock:
            cur = await self._conn.execute("DELETE FROM outbox WHERE seq_to <= ?", (upto_seq,))
            deleted = cur.rowcount
        self._count -= deleted
        return deleted

    @property
    def count(self) -> int:
        """Records stored and not yet acknowledged (committed ones plus those being committed)."""
        return self._count + len(self._queue)

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1

    async def flush(self) -> None:
        """Wait until everything appended so far is on disk."""
        waiting = [fut for _row, fut in self._inflight + self._queue if not fut.done()]
        if waiting:
            await asyncio.gather(*waiting, return_exceptions=True)

    async def close(self) -> None:
        """Commit what is queued, stop the writer, close the database."""
        self._closing = True
        self._wake.set()
        await self._writer
        await self._conn.close()
