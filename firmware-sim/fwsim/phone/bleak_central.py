"""The phone's BLE backend on bleak: real Bluetooth hardware (BlueZ on Linux, also macOS and Windows).

Deliberately thin — the protocol lives in :mod:`fwsim.phone.session`, shared with the bumble backend; this
module only scans (by the lock id in the manufacturer data), connects, subscribes and writes. bleak is
imported when a central is made, so the rest of the phone client runs without it. BlueZ negotiates the ATT
MTU itself (bleak cannot ask for one): the link reports what was agreed, read from the write characteristic's
largest write without response (bleak's ``mtu_size`` on BlueZ is a fixed 23, with a warning, unless the MTU
was acquired through a characteristic).
"""

from __future__ import annotations

import contextlib
from typing import Any

from fwsim.phone.errors import LinkLost, LockNotFound
from fwsim.phone.link import FoundLock, NotificationQueue, advert_for
from protocols.padlock.gatt import (
    COMPANY_ID,
    DEFAULT_ATT_MTU,
    NOTIFY_CHARACTERISTIC_UUID,
    WRITE_CHARACTERISTIC_UUID,
    mtu_from_max_write,
)


def advert_of(advertisement_data: Any, lock_id: bytes) -> Any:
    """The lock's advert in a bleak ``AdvertisementData`` (manufacturer data by company id), else None."""
    data = advertisement_data.manufacturer_data.get(COMPANY_ID)
    return None if data is None else advert_for(lock_id, manufacturer_data=bytes(data))



class BleakLink:
    def __init__(self, client: Any, queue: NotificationQueue, mtu: int = DEFAULT_ATT_MTU) -> None:
        self.client = client
        self._queue = queue
        self._mtu = mtu

    @property
    def mtu(self) -> int:
        return self._mtu

    async def write(self, fragment: bytes) -> None:
        if self._queue.lost:
            raise LinkLost("the link to the padlock dropped")
        try:
            await self.client.write_gatt_char(str(WRITE_CHARACTERISTIC_UUID), fragment, response=False)
        except Exception as exc:  # BleakError, D-Bus errors: the link is unusable either way
            raise LinkLost(f"write failed: {exc}") from exc

    async def next_fragment(self, timeout_s: float) -> bytes:
        return await self._queue.get(timeout_s)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.disconnect()


class BleakCentral:
    def __init__(self, adapter: str | None = None) -> None:
        import bleak  # the edge/sim extras install it; imported here so bumble-only users need not

        self._bleak = bleak
        self._bluez: dict[str, str] = {"adapter": adapter} if adapter else {}

    async def find(self, lock_id: bytes, timeout_s: float) -> FoundLock:
        found: dict[str, Any] = {}

        def match(_device: Any, advertisement_data: Any) -> bool:
            advert = advert_of(advertisement_data, lock_id)
            if advert is not None:
                found["advert"] = advert
            return advert is not None

        device = await self._bleak.BleakScanner.find_device_by_filter(match, timeout=timeout_s, bluez=self._bluez)
        if device is None:
            raise LockNotFound(f"no padlock {lock_id.hex()} heard within {timeout_s:g} s")
        return FoundLock(device, found["advert"])

    async def connect(self, found: FoundLock, *, mtu: int) -> BleakLink:
        queue = NotificationQueue()
        client = self._bleak.BleakClient(found.address, disconnected_callback=lambda _client: queue.link_lost(),
                                         bluez=self._bluez)
        try:
            await client.connect()
            write = client.services.get_characteristic(str(WRITE_CHARACTERISTIC_UUID))
            if write is None:
                raise LookupError("the device has no SafeGrid padlock write characteristic")
            await client.start_notify(str(NOTIFY_CHARACTERISTIC_UUID), lambda _char, data: queue.put(bytes(data)))
        except Exception as exc:
            with contextlib.suppress(Exception):
                await client.disconnect()
            raise LinkLost(f"could not connect to the padlock: {exc}") from exc
        return BleakLink(client, queue, mtu_from_max_write(write.max_write_without_response_size))
