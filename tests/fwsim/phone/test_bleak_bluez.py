"""The phone's bleak central through BlueZ's D-Bus API, with no Bluetooth adapter: BlueZoo (a BlueZ mock) on a
private bus (``bluez_bus``), the padlock simulator's core served as a BlueZ GATT application on BlueZoo's second
adapter (``tests.rig.bluez_padlock``), bleak's real BlueZ backend on the first.

Covered: ``BleakCentral.find`` (discovery, the lock picked by the lock id in its manufacturer data),
``BleakCentral.connect`` (connect, service resolution, the write characteristic's MTU, the notify subscription),
the shared ``BleakChannel``'s ``write`` / ``next_fragment`` / ``close``, carrying whole exchanges of fragmented
messages: an unlock and a refusal, info and an audit fetch.

Not covered (BlueZoo passes D-Bus calls between the two applications; it has no radio, HCI or ATT): the MTU
exchange and real fragment sizes on air, link loss mid-exchange (BlueZoo cannot drop a link from the lock's
side), pairing, RSSI, several centrals at once. The shared session logic for those is covered over bumble's
virtual radio (test_phone, tests/fwsim/lock).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from fwsim.phone import LinkLost, LockNotFound, Phone, TokenFile
from fwsim.phone.bleak_central import BleakCentral
from fwsim.phone.session import PadlockSession
from protocols.padlock import messages as m
from protocols.padlock.events import EventKind
from tests.fwsim.lock.world import STEP_TIMEOUT_S, HostClock, provisioned_core, token, v, verify_log
from tests.rig.bluez import CENTRAL_ADAPTER
from tests.rig.bluez_padlock import GATT_MTU, BluezPadlock

SCAN_TIMEOUT_S = 10.0  # BlueZoo reports an advertiser once a second while discovering


@pytest_asyncio.fixture
async def lock(bluez_bus: Any) -> AsyncIterator[BluezPadlock]:
    clock = HostClock()
    padlock = BluezPadlock(provisioned_core(clock), clock)
    await padlock.start()
    yield padlock
    await padlock.stop()


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "permit.token"
    path.write_bytes(token())
    return path


async def within(awaitable: Any) -> Any:
    return await asyncio.wait_for(awaitable, STEP_TIMEOUT_S)


async def test_the_phone_unlocks_the_padlock_through_bleak_and_bluez(lock: BluezPadlock, token_file: Path) -> None:
    phone = Phone(BleakCentral(CENTRAL_ADAPTER), v.WORKER, TokenFile(token_file))
    outcome = await within(phone.unlock(v.LOCK_ID, scan_timeout_s=SCAN_TIMEOUT_S))
    assert outcome.ok and outcome.lock_id == v.LOCK_ID and lock.core.open
    assert outcome.in_words() == "ok: unlocked: the padlock opened"
    # The opened event was notified over bleak, byte for byte the lock's signed entry.
    assert outcome.events == (lock.core.log.entries[-1],)
    assert verify_log(lock.core)[-1].event.kind == EventKind.OPENED


async def test_a_phone_without_the_holder_key_is_refused_through_bleak(lock: BluezPadlock, token_file: Path) -> None:
    outcome = await within(Phone(BleakCentral(CENTRAL_ADAPTER), v.ROGUE, TokenFile(token_file))
                           .unlock(v.LOCK_ID, scan_timeout_s=SCAN_TIMEOUT_S))
    assert outcome.code == "bad_pop" and not lock.core.open
    assert verify_log(lock.core)[-1].event.kind == EventKind.UNLOCK_REFUSED


async def test_the_link_reports_the_mtu_bluez_gives_and_carries_fragmented_answers(
        lock: BluezPadlock, recwarn: pytest.WarningsRecorder) -> None:
    central = BleakCentral(CENTRAL_ADAPTER)
    found = await within(central.find(v.LOCK_ID, SCAN_TIMEOUT_S))
    assert found.advert == lock.core.advert()
    link = await within(central.connect(found, mtu=GATT_MTU))
    try:
        assert link.mtu == GATT_MTU  # from the write characteristic, not bleak's default 23
        session = PadlockSession(link)
        info = await within(session.info())
        assert isinstance(info, m.InfoResponse) and info.lock_key == lock.core.lock_public_key
        batch = await within(session.audit_fetch(0))
        assert isinstance(batch, m.AuditEntries) and list(batch.entries) == lock.core.log.entries
        assert len(m.AuditEntries(entries=batch.entries, more=batch.more).encode()) > GATT_MTU  # several fragments
    finally:
        await link.close()
    assert not [w for w in recwarn if "MTU" in str(w.message)]
    with pytest.raises(LinkLost):
        await link.write(b"\x80\x00\x01\x01")  # after close: the disconnection reached the link


async def test_an_absent_padlock_is_not_found_through_bleak(lock: BluezPadlock) -> None:
    with pytest.raises(LockNotFound):
        await within(BleakCentral(CENTRAL_ADAPTER).find(v.OTHER_LOCK_ID, 1.5))
