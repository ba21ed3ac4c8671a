"""The bleak backend, as far as it runs without a Bluetooth adapter.

Covered here: picking the padlock out of bleak's own ``AdvertisementData`` by lock id, the backend
building a central (bleak is importable), and the rest of the phone client not importing bleak at all.
``BleakCentral.find``, ``connect``, the shared ``BleakChannel.write`` and notifications run against BlueZoo (a
BlueZ mock on a private D-Bus) in test_bleak_bluez; what lies below BlueZ's D-Bus API (HCI, ATT, link loss) needs
an adapter.
"""

from __future__ import annotations

import subprocess
import sys

from bleak.backends.scanner import AdvertisementData

from fwsim.phone.bleak_central import BleakCentral
from padlock_client.bleak_backend import advert_from_manufacturer_data
from protocols.padlock.advertising import LockAdvert, LockState
from protocols.padlock.gatt import COMPANY_ID
from tests.fwsim.lock.world import v


def advert_of(data: AdvertisementData, lock_id: bytes) -> LockAdvert | None:
    return advert_from_manufacturer_data(data.manufacturer_data, lock_id)


def advertisement(manufacturer_data: dict[int, bytes]) -> AdvertisementData:
    return AdvertisementData(local_name="SafeGrid padlock", manufacturer_data=manufacturer_data, service_data={},
                             service_uuids=[], tx_power=None, rssi=-60, platform_data=())


def test_the_padlock_is_recognised_by_its_lock_id_in_bleak_advertisement_data() -> None:
    advert = LockAdvert(lock_id=v.LOCK_ID, state=LockState.LOW_BATTERY, event_seq=7, battery=12)
    ours = advertisement({COMPANY_ID: advert.manufacturer_data()})
    assert advert_of(ours, v.LOCK_ID) == advert
    assert advert_of(ours, v.OTHER_LOCK_ID) is None
    assert advert_of(advertisement({}), v.LOCK_ID) is None
    assert advert_of(advertisement({COMPANY_ID: b"SG\x09" + bytes(14)}), v.LOCK_ID) is None  # another version
    assert advert_of(advertisement({0x004C: advert.manufacturer_data()}), v.LOCK_ID) is None  # another company


def test_the_bleak_central_is_built_lazily_and_the_phone_library_does_not_need_bleak() -> None:
    assert BleakCentral("hci0")._bluez == {"adapter": "hci0"}
    probe = "import sys, fwsim.phone, fwsim.phone.bumble_central; print('bleak' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
