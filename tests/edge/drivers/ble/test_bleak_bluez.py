"""The gateway's bleak padlock link through BlueZ's D-Bus API, with no Bluetooth adapter: BlueZoo (a BlueZ mock)
on a private bus (``bluez_bus``), the padlock simulator's core served as a BlueZ GATT application on BlueZoo's
second adapter (``tests.rig.bluez_padlock``), bleak's real BlueZ backend on the first (``adapter="hci0"``).

Covered: ``BleakPadlockLink`` scanning (``scan_advert``, and ``_find`` before each visit), connecting and
``BleakChannel.set_up`` (service resolution, both characteristics found, the MTU from the write characteristic,
the notify subscription), ``send`` (write with response) and notifications carrying fragmented requests and
answers, ``disconnect`` after each visit; through an audit fetch with chain verification, a later fetch after the
advert's event counter moved, a time set (challenge then push in one visit) and an absent lock.

Not covered (BlueZoo passes D-Bus calls between the two applications; it has no radio, HCI or ATT): the MTU
exchange, link loss mid-visit (``dropped`` / ``link_dropped``: BlueZoo cannot drop a link from the lock's side),
connect timeouts, BlueZ errors from a real controller, and a device without the padlock characteristics. The
shared visit/session logic for those is covered over bumble's virtual radio (test_link_bumble, test_watcher).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from edge.drivers.ble import PadlockLinkError
from edge.drivers.ble.bleak_link import BleakPadlockLink
from protocols.padlock.events import EventKind
from tests.edge.drivers.ble.world import LOCK_ID, STEP_TIMEOUT_S, Keys, provisioned_core, signer
from tests.rig.bluez import CENTRAL_ADAPTER
from tests.rig.bluez_padlock import GATT_MTU, BluezPadlock

SCAN_TIMEOUT_S = 5.0  # BlueZoo reports an advertiser once a second while discovering


@pytest_asyncio.fixture
async def lock(bluez_bus: Any, keys: Keys) -> AsyncIterator[BluezPadlock]:
    padlock = BluezPadlock(provisioned_core(keys), time.time)
    await padlock.start()
    yield padlock
    await padlock.stop()


@pytest_asyncio.fixture
async def link(lock: BluezPadlock, keys: Keys) -> AsyncIterator[BleakPadlockLink]:
    async with BleakPadlockLink(adapter=CENTRAL_ADAPTER, lock_id=LOCK_ID, lock_public_key=lock.core.lock_public_key,
                                time_signer=signer(keys), scan_timeout_s=SCAN_TIMEOUT_S,
                                response_timeout_s=5.0) as padlock_link:
        yield padlock_link


async def within(awaitable: Any) -> Any:
    return await asyncio.wait_for(awaitable, STEP_TIMEOUT_S)


async def test_the_gateway_hears_the_lock_and_fetches_its_verified_log_through_bleak(
        link: BleakPadlockLink, lock: BluezPadlock) -> None:
    advert = await within(link.scan_advert(SCAN_TIMEOUT_S))
    assert advert == lock.core.advert()
    entries = await within(link.fetch_events(0))  # verified with the lock's key, chained from genesis
    assert [e.event.kind for e in entries] == [EventKind.PROVISIONED, EventKind.POWER_ON]
    assert [e.seq for e in entries] == [1, 2] and entries[-1].hash == lock.core.log.last_hash


async def test_a_visit_sets_up_the_channel_at_the_mtu_bluez_gives(link: BleakPadlockLink,
                                                                  lock: BluezPadlock) -> None:
    async with link.visit() as session:
        assert session.channel.mtu == GATT_MTU
        info = await within(session.read_info())
    assert info.lock_id == LOCK_ID and info.lock_key == lock.core.lock_public_key
    assert info.event_seq == lock.core.log.last_seq


async def test_new_events_move_the_advert_and_a_later_visit_fetches_them(link: BleakPadlockLink,
                                                                         lock: BluezPadlock) -> None:
    first = await within(link.fetch_events(0))
    lock.publish(lock.core.force_open(time.time()) + lock.core.set_battery(12, time.time()))
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while (advert := await within(link.scan_advert(SCAN_TIMEOUT_S))) is None or advert.event_seq == first[-1].seq:
        assert time.monotonic() < deadline, "the advert's event counter never moved"
    assert advert.event_seq == first[-1].seq + 2
    later = await within(link.fetch_events(first[-1].seq, prev_hash=first[-1].hash))
    assert [e.event.kind for e in later] == [EventKind.FORCED_OPEN, EventKind.LOW_BATTERY]
    assert await within(link.fetch_events(later[-1].seq, prev_hash=later[-1].hash)) == []


async def test_a_time_set_answers_a_challenge_within_one_visit(link: BleakPadlockLink, lock: BluezPadlock) -> None:
    assert await within(link.set_time()) == "ok"
    assert lock.requests_handled == 2  # the challenge, then the time set signed over it
    assert [e.event.kind for e in await within(link.fetch_events(2))] == [EventKind.TIME_SET]


async def test_an_absent_lock_is_not_found_through_bleak(lock: BluezPadlock, keys: Keys) -> None:
    other = BleakPadlockLink(adapter=CENTRAL_ADAPTER, lock_id=bytes(8), lock_public_key=lock.core.lock_public_key,
                             scan_timeout_s=1.5)
    assert await within(other.scan_advert(1.5)) is None
    with pytest.raises(PadlockLinkError) as caught:
        await within(other.read_info())
    assert caught.value.code == "not_found"
