"""The padlock watcher against the padlock simulator: follows the event counter, verifies, yields to phones."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from edge.clocktrust import PadlockClockFinding
from edge.drivers.ble import ChainCursor, PadlockWatcher, WatcherState
from edge.drivers.ble.bumble_link import BumblePadlockLink
from fwsim.lock import LockClock, PadlockPeripheral
from protocols.padlock.audit import AuditEntry
from protocols.padlock.events import EventKind
from protocols.padlock.messages import PushKind
from tests.edge.drivers.ble.world import STEP_TIMEOUT_S, Keys, attestation, gateway_link, signer
from tests.rig.waiting import eventually


class Received:
    """The on_entries callback: records what the watcher handed over (the daemon persists it instead)."""

    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    async def __call__(self, entries: list[AuditEntry]) -> None:
        self.entries.extend(entries)

    @property
    def kinds(self) -> list[EventKind]:
        return [e.event.kind for e in self.entries]


@asynccontextmanager
async def watching(link: BumblePadlockLink, received: Received,
                   cursor: ChainCursor | None = None) -> AsyncIterator[PadlockWatcher]:
    watcher = PadlockWatcher(link, cursor=cursor or ChainCursor(), on_entries=received, poll_interval_s=3600,
                             reconnect_gap_s=0.2, idle_check_s=0.05)
    watcher.start()
    try:
        yield watcher
    finally:
        await watcher.stop()


@pytest.fixture
async def fast_link(ble_radio: Any, padlock: PadlockPeripheral, keys: Keys) -> AsyncIterator[BumblePadlockLink]:
    async with gateway_link(ble_radio.device("gateway"), padlock.core, time_signer=signer(keys),
                            scan_timeout_s=0.5) as link:
        yield link


async def test_the_watcher_pulls_verified_events_when_the_counter_moves(fast_link: BumblePadlockLink,
                                                                        padlock: PadlockPeripheral) -> None:
    received = Received()
    async with watching(fast_link, received) as watcher:
        await eventually(lambda: len(received.entries) == 2 and watcher.health.state is WatcherState.IN_SYNC,
                         "the initial catch-up")
        assert received.kinds == [EventKind.PROVISIONED, EventKind.POWER_ON]
        await padlock.force_open()
        await eventually(lambda: EventKind.FORCED_OPEN in received.kinds, "the forced-open event delivered")
        await eventually(lambda: watcher.cursor.seq == padlock.core.log.last_seq, "the cursor caught up")
    assert watcher.cursor == ChainCursor(received.entries[-1].seq, received.entries[-1].hash)
    assert [e.seq for e in received.entries] == list(range(1, len(received.entries) + 1))  # each once, in order
    assert not padlock.connected  # the watcher let go of the lock


async def test_the_watcher_yields_while_a_phone_holds_the_lock(ble_radio: Any, fast_link: BumblePadlockLink,
                                                               padlock: PadlockPeripheral) -> None:
    received = Received()
    phone = await ble_radio.powered_device("phone")
    async with watching(fast_link, received) as watcher:
        await eventually(lambda: watcher.health.state is WatcherState.IN_SYNC and not padlock.connected,
                         "the watcher in sync and off the lock")
        connection = await asyncio.wait_for(phone.connect(padlock.device.random_address), STEP_TIMEOUT_S)
        await eventually(lambda: padlock.connected, "the phone holding the lock")
        visits = watcher.health.visits
        await padlock.force_open()  # logged while the phone holds the lock: no advert announces it
        await eventually(lambda: watcher.health.state is WatcherState.SILENT, "the watcher noticing the silence")
        assert watcher.health.visits == visits and EventKind.FORCED_OPEN not in received.kinds
        # Bounded: bumble's virtual link can miss the phone-side completion when the lock re-advertises at
        # once and the gateway connects; what counts is that the lock saw the phone leave.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(connection.disconnect(), STEP_TIMEOUT_S / 4)
        await eventually(lambda: EventKind.FORCED_OPEN in received.kinds, "the event pulled once the phone left")
        assert watcher.health.visits > visits


async def test_a_broken_chain_is_reported_and_the_cursor_stays(fast_link: BumblePadlockLink,
                                                               padlock: PadlockPeripheral) -> None:
    for _ in range(3):
        await padlock.tamper()
    raw = bytearray(padlock.core.log.entries[3])
    raw[-70] ^= 0x01  # an entry edited in the lock's flash
    padlock.core.log.entries[3] = bytes(raw)
    received = Received()
    async with watching(fast_link, received) as watcher:
        await eventually(lambda: watcher.health.state is WatcherState.BAD_CHAIN, "the broken chain reported")
        assert watcher.health.last_error is not None and watcher.health.last_error.startswith("bad_chain")
    assert received.entries == [] and watcher.cursor == ChainCursor()


async def test_queued_pushes_are_delivered_on_the_next_visit(fast_link: BumblePadlockLink,
                                                             padlock: PadlockPeripheral, keys: Keys) -> None:
    received = Received()
    async with watching(fast_link, received) as watcher:
        await eventually(lambda: watcher.health.state is WatcherState.IN_SYNC, "in sync")
        good = watcher.queue_push(PushKind.GAS_ATTESTATION, attestation(keys.gateway))
        forged = watcher.queue_push(PushKind.GAS_ATTESTATION, attestation(keys.rogue, kid_of=keys.gateway,
                                                               measured_at=int(time.time()) + 5))
        assert await asyncio.wait_for(good, STEP_TIMEOUT_S) == "ok"
        assert await asyncio.wait_for(forged, STEP_TIMEOUT_S) == "bad_signature"
    assert padlock.core.held_attestation() is not None


def _an_hour_behind(padlock: PadlockPeripheral) -> None:
    host = time.time()
    padlock.core.clock = LockClock(set_at_host=host, set_to=host - 3600, floor=int(host) - 3600)


@pytest.mark.parametrize("trusted", [True, False])
async def test_a_lock_clock_an_hour_off_is_corrected_only_from_a_trusted_clock(
        ble_radio: Any, padlock: PadlockPeripheral, keys: Keys, trusted: bool) -> None:
    _an_hour_behind(padlock)
    received = Received()
    async with gateway_link(ble_radio.device("gateway"), padlock.core, time_signer=signer(keys, trusted=trusted),
                            scan_timeout_s=0.5) as link, watching(link, received) as watcher:
        await eventually(lambda: watcher.health.visits >= 1, "a visit")
        if trusted:
            assert watcher.health.clock_finding is PadlockClockFinding.DRIFTED
            await eventually(lambda: EventKind.TIME_SET in received.kinds, "the time_set event delivered")
            assert abs(padlock.core.clock.now(time.time()) - time.time()) < 60
        else:
            assert watcher.health.clock_finding is PadlockClockFinding.GATEWAY_UNTRUSTED
    if not trusted:
        assert EventKind.TIME_SET not in [e.event.kind for e in padlock.core.log.decoded()]
        assert padlock.core.clock.now(time.time()) < time.time() - 3000


async def test_stopping_cancels_undelivered_pushes(fast_link: BumblePadlockLink, keys: Keys) -> None:
    watcher = PadlockWatcher(fast_link, cursor=ChainCursor(), on_entries=Received())
    pending = watcher.queue_push(PushKind.REVOCATION_LIST, b"\x01")
    with pytest.raises(ValueError, match="unknown push kind"):
        watcher.queue_push("firmware", b"\x01")
    with pytest.raises(ValueError, match="unknown push kind"):  # one vocabulary: the link's old short names are gone
        watcher.queue_push("revocation", b"\x01")
    assert watcher.queue_push("revocation_list", b"\x02") is not pending  # the daemon's names are PushKind's
    await watcher.stop()
    assert pending.cancelled()


async def test_entries_the_caller_failed_to_store_are_handed_over_again(fast_link: BumblePadlockLink) -> None:
    received = Received()
    failures = [RuntimeError("outbox unavailable")]

    async def store(entries: list[AuditEntry]) -> None:
        if failures:
            raise failures.pop()
        await received(entries)

    watcher = PadlockWatcher(fast_link, cursor=ChainCursor(), on_entries=store, poll_interval_s=3600,
                             reconnect_gap_s=0.2, idle_check_s=0.05)
    watcher.start()
    try:
        await eventually(lambda: watcher.health.last_error == "RuntimeError: outbox unavailable",
                         "the failed hand-over noticed")
        assert watcher.cursor == ChainCursor()  # not moved past what was not stored
        await eventually(lambda: len(received.entries) == 2, "the same entries handed over again")
    finally:
        await watcher.stop()
    assert received.kinds == [EventKind.PROVISIONED, EventKind.POWER_ON]
    assert watcher.health.state is WatcherState.IN_SYNC
