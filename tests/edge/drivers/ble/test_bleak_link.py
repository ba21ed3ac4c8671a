"""The bleak backend's pure parts. Its radio code (scanning, connecting, GATT over BlueZ's D-Bus API) runs against
BlueZoo, a BlueZ mock on a private bus, in test_bleak_bluez; nothing below BlueZ's API (HCI, ATT, the MTU
exchange, link loss) runs without an adapter. The shared session logic is exercised through the bumble backend
(test_link_bumble, test_watcher); the radio code is the shared padlock client's (``padlock_client.bleak_backend``)."""

from __future__ import annotations

import pytest

from edge.drivers.ble import Backend, open_link
from protocols import crypto
from protocols.padlock.advertising import LockAdvert, LockState
from protocols.padlock.gatt import COMPANY_ID

bleak_link = pytest.importorskip("edge.drivers.ble.bleak_link", reason="bleak is not installed (edge extra)")
bleak_backend = pytest.importorskip("padlock_client.bleak_backend", reason="bleak is not installed (edge extra)")

LOCK_ID = bytes.fromhex("0102030405060708")


def test_the_lock_advert_is_read_from_bleak_manufacturer_data() -> None:
    advert = LockAdvert(lock_id=LOCK_ID, state=LockState.OPEN | LockState.SESSION, event_seq=77, battery=40)
    found = bleak_backend.advert_from_manufacturer_data({COMPANY_ID: advert.manufacturer_data()}, LOCK_ID)
    assert found == advert
    assert bleak_backend.advert_from_manufacturer_data({COMPANY_ID: advert.manufacturer_data()}, bytes(8)) is None
    assert bleak_backend.advert_from_manufacturer_data({0x004C: advert.manufacturer_data()}, LOCK_ID) is None
    assert bleak_backend.advert_from_manufacturer_data({COMPANY_ID: b"SG\x01garbage"}, LOCK_ID) is None


def test_open_link_builds_a_bleak_link_without_touching_the_radio() -> None:
    key = crypto.public_raw(crypto.generate_private_key())
    link = open_link(Backend.BLEAK, lock_id=LOCK_ID, lock_public_key=key, address="AA:BB:CC:DD:EE:FF", adapter="hci1")
    assert isinstance(link, bleak_link.BleakPadlockLink)
    assert link.lock_id == LOCK_ID and link.address == "AA:BB:CC:DD:EE:FF"
