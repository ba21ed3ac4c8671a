"""The journal: every record is validated and numbered in the outbox first, then chained into the ledger.

``stage`` validates each record against the uplink schema (a record the cloud would refuse must never block
the outbox) and gives it its gateway seq at once, in call order; ``settle`` waits (briefly) until the staged
records are committed; ``chain`` then appends them to the tamper-evident ledger, each with its outbox seq.
Telemetry is not chained one poll at a time: the ledger gets periodic gas summaries instead.

Nothing here raises for a failing disk. A record the outbox cannot commit stays queued in memory in seq order
(the outbox's bound and folding rules apply); a ledger entry that cannot be appended stays in ``backlog`` and is
appended, in order, by the next chain or :meth:`retry`. ``on_fault`` hears ``("outbox" | "ledger", error or
None)`` on every change, so the daemon can raise its gateway-fault alarm — the safety loop never waits on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from edge.daemon.records import Record
from edge.ledger import Ledger
from edge.outbox import Outbox
from protocols.uplink import make_record

log = structlog.get_logger(__name__)

UNCHAINED = frozenset({"telemetry"})
SETTLE_S = 1.0  # the longest a step waits for its records' commit on a healthy disk; then it goes on
MAX_CHAIN_BACKLOG = 10_000  # ledger entries held in memory while the ledger cannot be written; older ones dropped

#: Told ``(store, error text or None)`` when a store becomes faulty or recovers.
StoreFault = Callable[[str, str | None], None]


@dataclass(slots=True)
class Staged:
    """Records numbered and queued for the outbox's next group commit."""

    at_ms: int
    records: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)  # (seq, kind, body)
    futures: list[asyncio.Future[int]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.records)


class Journal:
    """Outbox first, ledger second. ``on_stored`` is told when records are on disk (wakes the uplink sender)."""

    def __init__(self, outbox: Outbox, ledger: Ledger, *, on_stored: Callable[[], None] | None = None,
                 on_record: Callable[[int, str, dict[str, Any]], None] | None = None,
                 on_fault: StoreFault | None = None) -> None:
        self.outbox = outbox
        self.ledger = ledger
        self.on_stored = on_stored
        self.on_record = on_record  # sees every record as staged (seq, kind, body): metrics, the demo timeline
        self.on_fault = on_fault
        self.appended = 0
        self.backlog: list[tuple[str, int, dict[str, Any]]] = []  # ledger entries not appended yet, in order
        self.ledger_fault: str | None = None
        self.chain_dropped = 0
        self._chain_lock = asyncio.Lock()
        self._unsettled: list[tuple[Staged, list[tuple[str, int, dict[str, Any]]]]] = []
        self._outbox_failing = asyncio.Event()  # set while the outbox reports a fault: nobody waits on it then
        outbox.on_fault = self._outbox_fault

    def _outbox_fault(self, fault: str | None) -> None:
        if fault is None:
            self._outbox_failing.clear()
            log.info("storage recovered", store="outbox", queued=self.outbox.queued)
        else:
            self._outbox_failing.set()
            log.error("storage fault", store="outbox", error=fault, queued=self.outbox.queued)
        if self.on_fault is not None:
            self.on_fault("outbox", fault)

    def stage(self, records: Sequence[Record], at_ms: int) -> Staged:
        staged = Staged(at_ms)
        for kind, body in records:
            make_record(self.outbox.last_seq + 1, kind, at_ms, body)  # EnvelopeError: a bug, never stored
            seq, future = self.outbox.append_nowait(kind, at_ms, body)
            staged.records.append((seq, kind, body))
            staged.futures.append(future)
            if self.on_record is not None:
                self.on_record(seq, kind, body)
        self.appended += len(staged.records)
        return staged

    async def settle(self, staged: Staged) -> bool:
        """Wait until ``staged`` is on disk — at most :data:`SETTLE_S`, and not at all while the outbox is known
        to be failing (its records wait in memory). Returns whether they are on disk."""
        pending = [f for f in staged.futures if not f.done()]
        if pending and self.outbox.fault is None:
            await self._until_stored_or_failing(pending)
        stored = all(f.done() and not f.cancelled() and f.exception() is None for f in staged.futures)
        if stored and staged.futures and self.on_stored is not None:
            self.on_stored()
        return stored

    async def _until_stored_or_failing(self, pending: list[asyncio.Future[int]]) -> None:
        """Wait until every future in ``pending`` is done, the outbox reports a fault, or SETTLE_S has passed
        (the futures themselves are never cancelled: they belong to the outbox)."""
        all_done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        left = len(pending)

        def one_done(_future: asyncio.Future[int]) -> None:
            nonlocal left
            left -= 1
            if left == 0 and not all_done.done():
                all_done.set_result(None)

        for future in pending:
            future.add_done_callback(one_done)
        failing = asyncio.ensure_future(self._outbox_failing.wait())
        try:
            waiters: list[asyncio.Future[Any]] = [all_done, failing]
            await asyncio.wait(waiters, timeout=SETTLE_S, return_when=asyncio.FIRST_COMPLETED)
        finally:
            failing.cancel()
            for future in pending:
                future.remove_done_callback(one_done)

    async def chain(self, staged: Staged) -> None:
        """Append ``staged``'s records to the ledger once they are in the outbox (held until then, in order)."""
        items = [(kind, staged.at_ms, {"seq": seq, **body}) for seq, kind, body in staged.records
                 if kind not in UNCHAINED]
        if items:
            self._unsettled.append((staged, items))
        await self.retry()

    def _promote(self) -> None:
        """Entries whose records are committed join the backlog, oldest first (a ledger entry never names a seq
        the outbox could still lose)."""
        while self._unsettled and all(f.done() for f in self._unsettled[0][0].futures):
            staged, items = self._unsettled.pop(0)
            if all(not f.cancelled() and f.exception() is None for f in staged.futures):
                self._hold(items)

    async def chain_summary(self, kind: str, at_ms: int, body: dict[str, Any]) -> None:
        """A ledger-only entry (gas summaries, signed heads): monitoring data kept tamper-evident on site."""
        self._hold([(kind, at_ms, body)])
        await self.retry()

    def _hold(self, items: list[tuple[str, int, dict[str, Any]]]) -> None:
        self.backlog += items
        if len(self.backlog) > MAX_CHAIN_BACKLOG:
            drop = len(self.backlog) - MAX_CHAIN_BACKLOG
            self.chain_dropped += drop
            log.error("ledger entries dropped", count=drop, reason="the ledger cannot be written")
            del self.backlog[:drop]

    async def retry(self) -> bool:
        """Append the held ledger entries, in order; True when none is left (the daemon calls this while a
        store is faulty, and each chain does)."""
        async with self._chain_lock:
            self._promote()
            if not self.backlog:
                return True
            items = list(self.backlog)
            try:
                await self.ledger.append_many(items)
            except Exception as exc:  # a storage fault: keep them for the next try
                self._ledger_fault(f"{type(exc).__name__}: {exc}")
                return False
            del self.backlog[:len(items)]
            self._ledger_fault(None)
            return True

    def _ledger_fault(self, fault: str | None) -> None:
        if fault == self.ledger_fault:
            return
        self.ledger_fault = fault
        if fault is None:
            log.info("storage recovered", store="ledger")
        else:
            log.error("storage fault", store="ledger", error=fault, held=len(self.backlog))
        if self.on_fault is not None:
            self.on_fault("ledger", fault)

    async def write(self, records: Sequence[Record], at_ms: int) -> list[int]:
        """Stage, settle, chain: for records whose effects need not go first. Returns their seqs."""
        staged = self.stage(records, at_ms)
        await self.settle(staged)
        await self.chain(staged)
        return [seq for seq, _kind, _body in staged.records]
