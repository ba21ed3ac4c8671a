"""The sender: drains the outbox to the cloud in seq order and deletes exactly what the cloud acknowledged.

It reads the oldest pending records, cuts batches by count, bytes and time (a batch that is not full waits
up to ``max_linger_s`` for more), keeps up to ``window`` batches in flight, and on every ack deletes the
records up to the ack's watermark — never beyond the highest seq it has sent. On an ack timeout, a lost
connection or a gap the cloud reports, it goes back to the oldest unacknowledged record and sends again:
the cloud stores by (gateway, epoch, seq), so a record sent twice is stored once and order is by seq.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from edge.outbox import Outbox
from edge.tasks import OwnedTask
from edge.uplink.backoff import Backoff
from edge.uplink.base import Batch, Uplink
from edge.uplink.batching import build_batch
from edge.uplink.config import BatchConfig
from edge.uplink.errors import AckTimeout, UplinkError, UplinkRejected, UplinkUnavailable
from protocols.uplink import Ack

log = structlog.get_logger(__name__)

IDLE_POLL_S = 1.0  # records committed without a notify() (another writer) are still found this soon


@dataclass(slots=True)
class _InFlight:
    batch: Batch
    future: asyncio.Future[Ack]
    deadline: float  # loop time by which its ack is due


class Sender:
    """Owns one task, ``uplink-sender-<gateway>``: start with :meth:`start`, stop with :meth:`stop`."""

    def __init__(self, outbox: Outbox, uplink: Uplink, config: BatchConfig, *,
                 clock_ms: Callable[[], int] | None = None) -> None:
        self.outbox = outbox
        self.uplink = uplink
        self.config = config
        self.gateway = uplink.gateway
        self.epoch = outbox.epoch
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._inflight: deque[_InFlight] = deque()
        self._cursor = 0  # highest seq handed to the uplink since the last rewind
        self.sent_high = 0  # highest seq ever handed to the uplink: no ack deletes beyond it
        self.acked = 0  # watermark applied to the outbox
        self._best_ack: Ack | None = None  # the highest-watermark ack of our epoch not yet applied
        self._last_gap: tuple[int, float] | None = None  # (first missing seq, when we went back for it)
        self._linger_since: float | None = None
        self._wake: asyncio.Future[None] | None = None
        self._acked_changed = asyncio.Condition()
        self._task = OwnedTask(f"uplink-sender-{self.gateway}")
        self.batches_sent = 0
        self.records_sent = 0
        self.rewinds = 0
        uplink.add_ack_listener(self._on_ack)

    # -- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> None:
        self._task.start(self._run)

    async def stop(self) -> None:
        await self._task.stop()
        self._rewind()

    async def run(self) -> None:
        """Send until cancelled, from the oldest unacknowledged record: for a supervisor that restarts it after a
        failure (:meth:`start` runs it as an owned task instead)."""
        self._rewind()
        await self._run()

    def rewind(self) -> None:
        """Forget what is in flight (the next run sends again from the oldest unacknowledged record)."""
        self._rewind()

    def notify(self) -> None:
        """New records were appended: look now instead of at the next poll."""
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def wait_acked(self, seq: int) -> None:
        """Return once the cloud has acknowledged every record up to ``seq`` (and they are deleted)."""
        async with self._acked_changed:
            await self._acked_changed.wait_for(lambda: self.acked >= seq)

    # -- the loop ------------------------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._send_forever()
        except Exception:  # the outbox failed (disk): fatal, the daemon's supervisor must see it
            log.exception("uplink_sender_crashed", gateway=self.gateway)
            raise

    async def _send_forever(self) -> None:
        backoff = Backoff(self.config.backoff_initial_s, self.config.backoff_max_s)
        while True:
            await self.uplink.wait_connected()
            try:
                await self._pump(backoff)
            except UplinkRejected as exc:  # the cloud refuses this batch: nothing to do but retry slowly
                log.error("uplink_batch_rejected", gateway=self.gateway, status=exc.status, error=str(exc))
                backoff.attempts = max(backoff.attempts, 30)
            except UplinkError as exc:  # unavailable, ack timeout: resend from the oldest unacknowledged record
                log.warning("uplink_resend", gateway=self.gateway, code=exc.code, error=str(exc), acked=self.acked)
            self._rewind()
            await asyncio.sleep(backoff.next_delay())

    async def _pump(self, backoff: Backoff) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while len(self._inflight) < self.config.window:
                batch = await self._next_batch(loop.time())
                if batch is None:
                    break
                future = await self.uplink.submit(batch)
                self._inflight.append(_InFlight(batch, future, loop.time() + self.config.ack_timeout_s))
                self._cursor = batch.last_seq
                self.sent_high = max(self.sent_high, batch.last_seq)
                self.batches_sent += 1
                self.records_sent += batch.count
            await self._wait(loop.time())
            if await self._settle(loop.time()):
                backoff.reset()

    async def _next_batch(self, now: float) -> Batch | None:
        unsent = self.outbox.last_seq - self._cursor  # seqs, not records: summaries stand for several
        if unsent <= 0:
            self._linger_since = None
            return None
        if unsent < self.config.max_records and self.config.max_linger_s > 0:
            if self._linger_since is None:
                self._linger_since = now
            if now - self._linger_since < self.config.max_linger_s:
                return None
        rows = await self.outbox.pending_rows(self.config.max_records, after_seq=self._cursor)
        if not rows:  # appended but not yet committed
            return None
        self._linger_since = None
        return build_batch(self.gateway, self.epoch, self._clock_ms(), rows, max_records=self.config.max_records,
                           max_bytes=self.config.max_bytes, compress=self.config.compress)

    async def _wait(self, now: float) -> None:
        """Sleep until an ack, a notify(), the oldest ack's deadline or the end of a linger, whichever first."""
        loop = asyncio.get_running_loop()
        self._wake = loop.create_future()
        # A future already resolved has told us its ack through the listener; only failures need handling now.
        failed = any(f.future.done() and (f.future.cancelled() or f.future.exception() is not None)
                     for f in self._inflight)
        if self._best_ack is None and not failed:
            waits: list[asyncio.Future[Any]] = [self._wake]
            waits += [f.future for f in self._inflight if not f.future.done()]
            timeout = IDLE_POLL_S
            if self._inflight:
                timeout = min(timeout, self._inflight[0].deadline - now)
            if self._linger_since is not None:
                timeout = min(timeout, self._linger_since + self.config.max_linger_s - now)
            await asyncio.wait(waits, timeout=max(timeout, 0.0), return_when=asyncio.FIRST_COMPLETED)
        else:
            await asyncio.sleep(0)  # always yield: this loop must never starve the event loop
        self._wake = None

    async def _settle(self, now: float) -> bool:
        """Apply what the acks say; True when the cloud acknowledged progress. Raises to trigger a resend."""
        for flight in self._inflight:
            if flight.future.cancelled():
                raise UplinkUnavailable("a batch was abandoned by the uplink")
            if flight.future.done():
                flight.future.result()  # raises UplinkUnavailable when the connection dropped
        ack, self._best_ack = self._best_ack, None
        progressed = False
        if ack is not None:
            upto = min(ack.watermark, self.sent_high)
            if upto > self.acked:
                await self.outbox.acknowledge(upto)
                self.acked = upto
                progressed = True
                async with self._acked_changed:
                    self._acked_changed.notify_all()
            while self._inflight and self._inflight[0].batch.last_seq <= self.acked:
                self._inflight.popleft()
            if ack.gaps and ack.watermark == self.acked and self._cursor > self.acked:
                self._go_back_for_gap(ack.gaps[0].first, now)
        if self._inflight and self._inflight[0].deadline <= now:
            flight = self._inflight[0]
            raise AckTimeout(f"no ack for seq {flight.batch.first_seq}..{flight.batch.last_seq} "
                             f"within {self.config.ack_timeout_s} s")
        return progressed

    def _go_back_for_gap(self, first_missing: int, now: float) -> None:
        # Later acks keep reporting the same gap until the resend arrives: go back once per ack timeout.
        if self._last_gap is not None and self._last_gap[0] == first_missing \
                and now - self._last_gap[1] < self.config.ack_timeout_s:
            return
        log.info("uplink_gap_resend", gateway=self.gateway, first_missing=first_missing)
        self._last_gap = (first_missing, now)
        self._rewind()

    def _rewind(self) -> None:
        """Forget what is in flight and continue from the oldest unacknowledged record."""
        if self._inflight or self._cursor > self.acked:
            self.rewinds += 1
        for flight in self._inflight:
            flight.future.cancel()
        self._inflight.clear()
        self._cursor = self.acked
        self._linger_since = None

    def _on_ack(self, ack: Ack) -> None:
        """Every ack the uplink receives, in the event loop (late ones included)."""
        if ack.epoch != self.epoch:
            log.info("uplink_ack_other_epoch", gateway=self.gateway, epoch=ack.epoch)
            return
        if ack.watermark < self.acked:
            return
        if self._best_ack is None or ack.watermark >= self._best_ack.watermark:
            self._best_ack = ack
        self.notify()
