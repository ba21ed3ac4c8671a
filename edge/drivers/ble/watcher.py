"""One watcher per padlock (the coordinator): it owns the lock's scanning, visits and health.

It listens to the lock's advertising. When the advertised event seq moves away from the last seq the caller
stored (or a push is queued, or the poll interval has passed) it visits: connect,
read info, pull and verify the entries since the stored seq, correct the lock's clock if it is off (only from
a trusted gateway clock), deliver queued pushes, disconnect. Verified entries go to ``on_entries``; the
cursor moves only after that callback returned (the caller persists it).

It yields to phones: it connects only right after hearing the lock advertise (a held lock is silent), holds
the link at most ``GATEWAY_MAX_HOLD_S``, waits ``GATEWAY_RECONNECT_GAP_S`` after each visit, and backs off
(doubling) when the lock is busy or unreachable. It logs on state transitions only.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

import structlog

from edge.clocktrust import (
    ClockUntrusted,
    PadlockClockAction,
    PadlockClockFinding,
    PadlockClockPolicy,
    PadlockSighting,
    TrustedTime,
    check_padlock_clock,
    sighting_after_time_set,
)
from edge.drivers.ble.chain import ChainCursor
from edge.drivers.ble.errors import PadlockLinkError
from edge.drivers.ble.link import PadlockLink
from edge.drivers.ble.session import FetchProgress, PadlockSession, push_kind
from edge.tasks import OwnedTask
from protocols.errors import ProtocolError
from protocols.padlock.advertising import LockAdvert
from protocols.padlock.audit import AuditEntry, decode_entry
from protocols.padlock.gatt import GATEWAY_POLL_INTERVAL_S, GATEWAY_RECONNECT_GAP_S
from protocols.padlock.messages import PushKind

log = structlog.get_logger(__name__)

DEFAULT_MAX_BACKOFF_S = 120.0
DEFAULT_IDLE_CHECK_S = 1.0  # how often an idle watcher looks at the lock's advert again

EntriesCallback = Callable[[list[AuditEntry]], Awaitable[None]]


class WatcherState(StrEnum):
    STARTING = "starting"
    IN_SYNC = "in_sync"  # heard advertising, everything fetched
    SILENT = "silent"  # not heard: out of range, powered off, or held by a phone
    BUSY = "busy"  # held by another central, or answered busy: backing off
    CATCHING_UP = "catching_up"  # the last visit ran out of hold time before everything was fetched
    UNREACHABLE = "unreachable"  # heard, but visits fail (link lost, timeouts)
    BAD_CHAIN = "bad_chain"  # the lock's audit chain does not verify: needs a person


@dataclass(slots=True)
class WatcherHealth:
    state: WatcherState = WatcherState.STARTING
    last_advert: LockAdvert | None = None
    last_heard: float | None = None  # monotonic
    last_visit: float | None = None  # monotonic, end of the last successful visit
    visits: int = 0  # successful visits
    consecutive_failures: int = 0
    last_error: str | None = None
    clock_finding: PadlockClockFinding | None = None


@dataclass(frozen=True, slots=True)
class _Push:
    kind: PushKind
    signed: bytes
    result: asyncio.Future[str]


class PadlockWatcher:
    """Watches ``link``'s lock. ``start()`` / ``await stop()``; ``queue_push`` for pushes; ``health`` for ops."""

    def __init__(self, link: PadlockLink, *, cursor: ChainCursor, on_entries: EntriesCallback,
                 clock_policy: PadlockClockPolicy | None = None,
                 poll_interval_s: float = GATEWAY_POLL_INTERVAL_S, reconnect_gap_s: float = GATEWAY_RECONNECT_GAP_S,
                 max_backoff_s: float = DEFAULT_MAX_BACKOFF_S, idle_check_s: float = DEFAULT_IDLE_CHECK_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.link = link
        self.cursor = cursor
        self.on_entries = on_entries
        self.clock_policy = clock_policy or PadlockClockPolicy()
        self.poll_interval_s = poll_interval_s
        self.reconnect_gap_s = reconnect_gap_s
        self.max_backoff_s = max_backoff_s
        self.idle_check_s = idle_check_s
        self._monotonic = monotonic
        self.health = WatcherHealth()
        self.clock_sighting: PadlockSighting | None = None
        self._pushes: deque[_Push] = deque()
        self._time_waiters: list[asyncio.Future[str]] = []  # queued 'time' pushes
        self._not_before = 0.0  # no connection before this (monotonic)
        self._next_poll = 0.0  # a visit is due on schedule from this time
        self._task = OwnedTask(f"padlock-watcher-{link.lock_id.hex()}")
        self._log = log.bind(lock_id=link.lock_id.hex())

    # -- control -------------------------------------------------------------------------------------
    def start(self) -> asyncio.Task[None]:
        return self._task.start(self._run)

    async def stop(self) -> None:
        await self._task.stop()
        while self._pushes:
            self._pushes.popleft().result.cancel()
        for waiter in self._time_waiters:
            waiter.cancel()
        self._time_waiters.clear()

    @property
    def running(self) -> bool:
        return self._task.running

    def queue_push(self, kind: PushKind | str, signed: bytes = b"") -> asyncio.Future[str]:
        """Deliver a push on the next visit; the future gets the lock's result code name.

        ``PushKind.TIME_SET`` (``signed`` empty) asks for a clock correction even when the lock's clock looks
        right; it waits for a trusted gateway clock. A push the link could not deliver stays queued for the next
        visit.
        """
        kind = push_kind(kind)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if kind is PushKind.TIME_SET:
            if signed:
                raise ValueError("a time set is signed on the link: queue it with no bytes")
            if self.link.time_signer is None:
                raise ValueError("this link has no time_signer: it cannot set a padlock's time")
            self._time_waiters.append(future)
        else:
            self._pushes.append(_Push(kind, signed, future))
        return future

    # -- the loop ----------------------------------------------------------------------------------
    def _set_state(self, state: WatcherState, **detail: object) -> None:
        if state is not self.health.state:
            level = "warning" if state in (WatcherState.UNREACHABLE, WatcherState.BAD_CHAIN) else "info"
            getattr(self._log, level)("padlock.state", state=str(state), previous=str(self.health.state), **detail)
            self.health.state = state

    def _due(self, advert: LockAdvert, now: float) -> str | None:
        # (A latched tamper flag needs no reason of its own: the tamper entry moved the seq.)
        if advert.event_seq != self.cursor.seq:
            return "event_seq_moved"
        if self._pushes:
            return "push_queued"
        if self._time_waiters and self._clock_trusted():
            return "time_set_queued"  # only with a trusted clock, else it would revisit the lock in a loop
        if now >= self._next_poll:
            return "schedule"
        return None

    def _clock_trusted(self) -> bool:
        signer = self.link.time_signer
        if signer is None:
            return False
        try:
            signer.check()
        except ClockUntrusted:
            return False
        return True

    async def _run(self) -> None:
        while True:
            try:
                await self._step()
            except PadlockLinkError as exc:
                self._visit_failed(exc)
                await asyncio.sleep(max(0.0, self._not_before - self._monotonic()))
            except Exception as exc:  # a bug or a failing callback must not end the watching
                error = f"{type(exc).__name__}: {exc}"
                if error != self.health.last_error:  # the traceback once, not at every retry
                    self._log.exception("padlock.watcher_error")
                self._failed(error, WatcherState.UNREACHABLE)
                await asyncio.sleep(max(0.0, self._not_before - self._monotonic()))

    async def _step(self) -> None:
        advert = await self.link.scan_advert(self.link.scan_timeout_s)
        now = self._monotonic()
        if advert is None:
            self._set_state(WatcherState.SILENT)
            return
        self.health.last_advert, self.health.last_heard = advert, now
        reason = self._due(advert, now)
        if reason is None:
            if self.health.state in (WatcherState.SILENT, WatcherState.STARTING):
                self._set_state(WatcherState.IN_SYNC)
            await asyncio.sleep(self.idle_check_s)
            return
        if now < self._not_before:
            await asyncio.sleep(min(self._not_before - now, self.idle_check_s))
            return
        try:
            await self.visit()
        except ClockUntrusted as exc:  # raced: trust lost between check and signing; nothing was sent
            self._log.info("padlock.time_not_set", reason=exc.code)

    def _failed(self, error: str, state: WatcherState, retry_after: float | None = None) -> None:
        self.health.consecutive_failures += 1
        self.health.last_error = error
        if state is WatcherState.BAD_CHAIN:
            wait = self.poll_interval_s  # a broken chain needs a person; do not hammer the lock
        else:
            doublings = min(self.health.consecutive_failures - 1, 16)
            wait = min(self.max_backoff_s, self.reconnect_gap_s * 2**doublings)
            wait = max(wait, retry_after or 0.0)
        self._not_before = self._monotonic() + wait
        self._set_state(state, error=error, retry_in_s=round(wait, 1))

    def _visit_failed(self, exc: PadlockLinkError) -> None:
        state = {"bad_chain": WatcherState.BAD_CHAIN, "busy": WatcherState.BUSY,
                 "not_found": WatcherState.SILENT}.get(exc.code, WatcherState.UNREACHABLE)
        self._failed(str(exc), state, exc.retry_after)

    # -- one visit ---------------------------------------------------------------------------------
    async def visit(self) -> None:
        """Connect now and do everything due; raises PadlockLinkError (the loop backs off on it)."""
        progress = FetchProgress()
        try:
            async with self.link.visit() as session:
                info = await session.read_info()
                await session.fetch(self.cursor, progress)
                if progress.complete:  # else the hold is nearly over: the clock and pushes wait for the next visit
                    await self._correct_clock(session, info.lock_time)
                    await self._deliver_pushes(session)
                    fetched = self.cursor.after(progress.entries).seq
                    if any(_seq_of(e) > fetched for e in session.live_entries):
                        await session.fetch(self.cursor.after(progress.entries), progress)  # logged meanwhile
        finally:
            # Verified entries are handed over even when the visit broke off later; the lock keeps them anyway.
            if progress.entries:
                await self.on_entries(list(progress.entries))
                self.cursor = self.cursor.after(progress.entries)
        now = self._monotonic()
        self.health.visits += 1
        self.health.last_visit = now
        self.health.consecutive_failures, self.health.last_error = 0, None
        self._not_before = now + self.reconnect_gap_s
        self._next_poll = now + self.poll_interval_s
        self._set_state(WatcherState.IN_SYNC if progress.complete else WatcherState.CATCHING_UP,
                        seq=self.cursor.seq)

    async def _correct_clock(self, session: PadlockSession, lock_time_s: int) -> None:
        signer = self.link.time_signer
        if signer is None:
            return
        gateway: TrustedTime | None
        try:
            gateway = signer.check()
        except ClockUntrusted:
            gateway = None
        check = check_padlock_clock(lock_time_s, gateway, previous=self.clock_sighting, policy=self.clock_policy)
        if check.finding is not self.health.clock_finding:
            self._log.info("padlock.clock", finding=str(check.finding), detail=check.detail)
            self.health.clock_finding = check.finding
        if check.sighting is not None:
            self.clock_sighting = check.sighting
        wanted = check.action is PadlockClockAction.SET_TIME or self._time_waiters
        if gateway is None or not wanted:
            return
        result = await session.set_time(signer)
        if result == "ok" and signer.last_time is not None:
            self.clock_sighting = sighting_after_time_set(signer.last_time.wall_s, signer.last_time)
        self._log.info("padlock.time_set", result=result, finding=str(check.finding))
        waiters, self._time_waiters = self._time_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(result)

    async def _deliver_pushes(self, session: PadlockSession) -> None:
        while self._pushes:
            left = session.time_left()
            if left is not None and left < 2 * session.response_timeout_s:
                return  # the rest on the next visit
            push = self._pushes[0]
            result = await session.push(push.kind, push.signed)
            self._pushes.popleft()
            if not push.result.done():
                push.result.set_result(result)
            self._log.info("padlock.push", kind=str(push.kind), result=result)


def _seq_of(signed_entry: bytes) -> int:
    """The seq of a notified entry (unverified: it only decides whether to fetch once more)."""
    try:
        return decode_entry(signed_entry).seq
    except ProtocolError:
        return 0
