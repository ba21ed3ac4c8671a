"""The journal: every record is validated and numbered in the outbox first, then chained into the ledger.

``stage`` validates each record against the uplink schema (a record the cloud would refuse must never block
the outbox) and gives it its gateway seq at once, in call order; ``durable`` waits until the staged records
are committed; ``chain`` then appends them to the tamper-evident ledger, each with its outbox seq. Telemetry
is not chained one poll at a time: the ledger gets periodic gas summaries instead.
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
                 on_record: Callable[[int, str, dict[str, Any]], None] | None = None) -> None:
        self.outbox = outbox
        self.ledger = ledger
        self.on_stored = on_stored
        self.on_record = on_record  # sees every record as staged (seq, kind, body): metrics, the demo timeline
        self.appended = 0

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

    async def durable(self, staged: Staged) -> None:
        if staged.futures:
            await asyncio.gather(*staged.futures)
            if self.on_stored is not None:
                self.on_stored()

    async def chain(self, staged: Staged) -> None:
        items = [(kind, staged.at_ms, {"seq": seq, **body}) for seq, kind, body in staged.records
                 if kind not in UNCHAINED]
        if items:
            await self.ledger.append_many(items)

    async def write(self, records: Sequence[Record], at_ms: int) -> list[int]:
        """Stage, wait until durable, chain: for records whose effects need not go first."""
        staged = self.stage(records, at_ms)
        await self.durable(staged)
        await self.chain(staged)
        return [seq for seq, _kind, _body in staged.records]

    async def chain_summary(self, kind: str, at_ms: int, body: dict[str, Any]) -> None:
        """A ledger-only entry (gas summaries, signed heads): monitoring data kept tamper-evident on site."""
        await self.ledger.append(kind, at_ms, body)
