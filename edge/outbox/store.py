"""The outbox store: SQLite (WAL, synchronous=FULL) behind aiosqlite, with group commit.

``append`` numbers a record with the gateway's next seq at once (before anything else happens to it) and
returns when the record is committed to disk. Appends that arrive while a commit is running are committed
together in the next one (group commit), so many writers share one fsync and latency stays bounded by about
two commit times. Readers only ever see committed rows: a row read for the uplink can never vanish in a
crash and have its seq reused for another record.

The seq counter is stored in the same transaction as the rows, so after a crash numbering resumes exactly
after the last committed record: no gap for the cloud to wait on, no seq used twice.

A failed commit (disk full, I/O error, a read-only or corrupt file) is a *storage fault*, not the end: the rows
stay queued in memory, in seq order, and the writer tries again with back-off until a commit succeeds (their
waiters then resolve). ``fault`` says what is wrong meanwhile and ``on_fault`` is told of every change. The
memory queue is bounded: beyond ``max_queue`` rows, runs of queued telemetry are folded into summary rows (as
compaction does on disk); alarms, events, sessions and audit records are never folded or dropped, and seq
order is kept (a row never commits before an older one: no gap the cloud would wait on).

With a :class:`~edge.outbox.floor.SeqFloor` the outbox also reserves seqs ahead in a file of its own, so that a new
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
import structlog

from edge.outbox.compaction import Slot, plan_runs
from edge.outbox.errors import OutboxError
from edge.outbox.floor import BLOCK, SeqFloor

log = structlog.get_logger(__name__)

Summarizer = Callable[[Sequence["OutboxRecord"]], dict[str, Any]]
StoredRow = tuple[int, int, str, int, str]  # seq, seq_to, kind, at_ms, body as JSON text
#: Told when the store becomes faulty (the error's text) and when it recovers (None).
FaultHook = Callable[[str | None], None]

MAX_QUEUE = 10_000  # rows held in memory while the disk fails, before telemetry is folded (about 5 MB)
RETRY_S, RETRY_MAX_S = 0.2, 5.0  # a failed commit is tried again after this, doubling while it keeps failing
CLOSE_RETRY_S = 2.0  # on close, how long a failing store is given to take what is queued

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


@dataclass(slots=True)
class _Queued:
    """A row waiting for its commit, and everyone waiting for it (several once telemetry is folded)."""

    row: tuple[int, int, str, int, str]
    futures: list[asyncio.Future[int]]


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
                 span: int, max_batch: int, summarizer: Summarizer, max_queue: int = MAX_QUEUE,
                 on_fault: FaultHook | None = None, floor: SeqFloor | None = None) -> None:
        self._conn = conn
        self.floor = floor
        self.epoch = epoch
        self._next_seq = next_seq
        self._count = count
        self._cap = cap
        self._span = span
        self._max_batch = max_batch
        self._summarizer = summarizer
        self._max_queue = max_queue
        self.on_fault = on_fault
        self._queue: list[_Queued] = []
        self._wake = asyncio.Event()
        self._db_lock = asyncio.Lock()  # one transaction or read at a time on the connection
        self.fault: str | None = None  # what is wrong with the store while commits fail
        self._closing = False
        self._inflight: list[_Queued] = []
        self.commits = 0
        self.folded = 0  # telemetry rows folded in memory while the disk failed
        self._retries = 0  # failed commits in a row: the retry delay doubles from RETRY_S up to RETRY_MAX_S
        self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name="outbox-writer")

    @classmethod
    async def open(cls, path: str | Path, *, epoch: int = 1, cap: int = 1_000_000, span: int = 60,
                   max_batch: int = 5000, summarizer: Summarizer = default_summary, max_queue: int = MAX_QUEUE,
                   on_fault: FaultHook | None = None, floor: SeqFloor | None = None) -> Outbox:
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
            rows = await conn.execute_fetchall("SELECT key, value FROM meta")
            meta: dict[str, Any] = {key: value for key, value in rows}
            [(count,)] = await conn.execute_fetchall("SELECT COUNT(*) FROM outbox")
            [(top,)] = await conn.execute_fetchall("SELECT COALESCE(MAX(seq_to), 0) FROM outbox")
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
                   max_batch=max_batch, summarizer=summarizer, max_queue=max_queue, on_fault=on_fault,
                   floor=floor)

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
        """Number the record now and queue it; the future resolves with its seq once it is on disk. Never fails
        for a faulty disk: the record waits in memory (see the module's note on the bound)."""
        seq = self._next_seq
        self._next_seq += 1
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        row = (seq, seq, kind, at_ms, json.dumps(body, separators=(",", ":")))
        self._queue.append(_Queued(row, [fut]))
        if len(self._queue) > self._max_queue:
            self._fold_queue()
        self._wake.set()
        return seq, fut

    async def append(self, kind: str, at_ms: int, body: dict[str, Any]) -> int:
        """Store one record durably; returns its seq once committed."""
        _seq, fut = self.append_nowait(kind, at_ms, body)
        return await fut

    def _fold_queue(self) -> None:
        """Fold runs of queued telemetry into summary rows (the disk is failing and memory is bounded)."""
        slots = [Slot(q.row[0], q.row[1], q.row[2]) for q in self._queue]
        folded: list[_Queued] = []
        last = -1
        for first, end in plan_runs(slots, span=max(self._span, 2)):
            folded += self._queue[last + 1:first]
            run = self._queue[first:end + 1]
            records = [OutboxRecord(q.row[0], q.row[1], q.row[2], q.row[3], json.loads(q.row[4])) for q in run]
            body = json.dumps(self._summarizer(records), separators=(",", ":"))
            row = (run[0].row[0], run[-1].row[1], "summary", run[0].row[3], body)
            folded.append(_Queued(row, [f for q in run for f in q.futures]))
            self.folded += len(run) - 1
            last = end
        folded += self._queue[last + 1:]
        self._queue = folded

    def _set_fault(self, fault: str | None) -> None:
        if fault == self.fault:
            return
        self.fault = fault
        if fault is None:
            self._retries = 0
        if self.on_fault is not None:
            self.on_fault(fault)

    async def _write_loop(self) -> None:
        while not (self._closing and not self._queue):
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch:]
                self._inflight = batch
                try:
                    await self._commit(batch)
                except Exception as exc:  # a storage fault: keep the rows, in order, and try again later
                    self._queue = batch + self._queue
                    self._inflight = []
                    self._set_fault(f"{type(exc).__name__}: {exc}")
                    if self._closing:
                        return  # close() decides what becomes of them
                    self._retries += 1
                    await self._sleep_or_wake(min(RETRY_MAX_S, RETRY_S * 2 ** min(self._retries - 1, 10)))
                    continue
                self._inflight = []
                self._set_fault(None)
                for queued in batch:
                    for fut in queued.futures:
                        if not fut.done():
                            fut.set_result(queued.row[0])
            if self._count > self._cap:
                try:
                    await self._compact()
                except Exception as exc:  # compaction only saves space: report it and carry on
                    self._set_fault(f"compaction: {type(exc).__name__}: {exc}")

    async def _sleep_or_wake(self, delay: float) -> None:
        """Wait ``delay`` before trying a failed commit again (close() cuts it short)."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)
        if not self._closing:
            self._wake.set()  # the loop looks at the queue again at once

    async def _commit(self, batch: list[_Queued]) -> None:
        rows = [q.row for q in batch]
        if self.floor is not None and rows[-1][1] >= self.floor.reserved:
            # Reserved before the rows commit: a seq the cloud can hold is always below the floor on disk. A tiny
            # atomic write once per BLOCK records, in the loop like the state file's (no thread left behind). A
            # failure here is a failed commit like any other: the rows stay queued and are tried again.
            self.floor.reserve(rows[-1][1] + BLOCK)
        async with self._db_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                await self._conn.executemany("INSERT INTO outbox VALUES (?, ?, ?, ?, ?)", rows)
                await self._conn.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (rows[-1][1] + 1,))
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
        return self._count + len(self._queue) + len(self._inflight)

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1

    async def flush(self) -> None:
        """Wait until everything appended so far is on disk."""
        waiting = [fut for q in self._inflight + self._queue for fut in q.futures if not fut.done()]
        if waiting:
            await asyncio.gather(*waiting, return_exceptions=True)

    @property
    def queued(self) -> int:
        """Rows numbered but not yet on disk (waiting for a commit, or held while the disk fails)."""
        return len(self._queue) + len(self._inflight)

    async def close(self) -> None:
        """Commit what is queued, stop the writer, close the database. A store still failing gets one last try
        of at most ``CLOSE_RETRY_S``; what it does not take is lost and logged (never a hang: systemd's stop
        timeout is short)."""
        self._closing = True
        self._wake.set()
        done, _ = await asyncio.wait([self._writer], timeout=CLOSE_RETRY_S)
        if not done:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
        lost = [q for q in self._inflight + self._queue]
        if lost:
            log.error("outbox_records_lost_on_close", rows=len(lost), first_seq=lost[0].row[0],
                      fault=self.fault)
            for q in lost:
                for fut in q.futures:
                    if not fut.done():
                        fut.set_exception(OutboxError(f"outbox closed with the store failing: {self.fault}"))
                        fut.exception()  # logged once above; a step that stopped waiting must not log it again
        self._queue, self._inflight = [], []
        with contextlib.suppress(Exception):
            await self._conn.close()
