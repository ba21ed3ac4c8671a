"""The bleak backend: real Bluetooth adapters (BlueZ on the gateway). Deliberately thin.

It only finds the lock by the lock id in its manufacturer data, connects, subscribes and writes; fragmenting,
requests, chain verification and timeouts are the shared code in ``session`` and ``link``, which the bumble
backend exercises over the virtual radio. Its BlueZ calls are tested against BlueZoo (a BlueZ D-Bus mock,
``tests/rig/bluez.py``); below BlueZ's API (HCI, ATT, link loss) only a real adapter exercises it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from edge.drivers.ble.channel import GattChannel
from edge.drivers.ble.errors import PadlockLinkError
from edge.drivers.ble.link import PadlockLink
from protocols.errors import ProtocolError
from protocols.padlock.advertising import LockAdvert, decode_manufacturer_data
from protocols.padlock.gatt import (
    COMPANY_ID,
    NOTIFY_CHARACTERISTIC_UUID,
    WRITE_CHARACTERISTIC_UUID,
    mtu_from_max_write,
)


def advert_from_manufacturer_data(manufacturer_data: Mapping[int, bytes], lock_id: bytes) -> LockAdvert | None:
    """The lock's advert from bleak's ``{company id: data}``, when it is this lock's; else None."""
    data = manufacturer_data.get(COMPANY_ID)
    if data is None:
        return None
    try:
        advert = decode_manufacturer_data(bytes(data))
    except ProtocolError:
        return None
    return advert if advert.lock_id == lock_id else None



class BleakChannel(GattChannel):
    def __init__(self, client: BleakClient) -> None:
        super().__init__()
        self.client = client

    async def set_up(self) -> None:
        await self.client.connect()
        write = self.client.services.get_characteristic(str(WRITE_CHARACTERISTIC_UUID))
        if write is None or self.client.services.get_characteristic(str(NOTIFY_CHARACTERISTIC_UUID)) is None:
            raise PadlockLinkError("the device has no SafeGrid padlock characteristics", code="bad_response")
        self.mtu = mtu_from_max_write(write.max_write_without_response_size)
        await self.client.start_notify(str(NOTIFY_CHARACTERISTIC_UUID), lambda _char, data: self.notified(data))

    async def send(self, fragment: bytes) -> None:
        await self.client.write_gatt_char(str(WRITE_CHARACTERISTIC_UUID), fragment, response=True)

    async def disconnect(self) -> None:
        with contextlib.suppress(Exception):  # already gone
            await self.client.disconnect()
        self.link_dropped("closed by the gateway")


class BleakPadlockLink(PadlockLink):
    """A padlock over bleak; ``adapter`` picks the BlueZ adapter (e.g. ``hci1``), default the system's."""

    def __init__(self, *, adapter: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self._bluez: Any = {"adapter": adapter} if adapter else {}

    async def _find(self, timeout_s: float) -> tuple[BLEDevice, LockAdvert] | None:
        found: asyncio.Future[tuple[BLEDevice, LockAdvert]] = asyncio.get_running_loop().create_future()

        def detected(device: BLEDevice, data: AdvertisementData) -> None:
            advert = advert_from_manufacturer_data(data.manufacturer_data, self.lock_id)
            if advert is not None and not found.done():
                found.set_result((device, advert))

        async with BleakScanner(detected, bluez=self._bluez):
            try:
                return await asyncio.wait_for(found, timeout_s)
            except TimeoutError:
                return None

    async def scan_advert(self, timeout_s: float) -> LockAdvert | None:
        try:
            hit = await self._find(timeout_s)
        except BleakError as exc:
            raise PadlockLinkError(f"scanning failed: {exc}", code="not_found") from exc
        return hit[1] if hit else None

    async def _open_channel(self) -> GattChannel:
        try:
            hit = await self._find(self.scan_timeout_s)
        except BleakError as exc:
            raise PadlockLinkError(f"scanning failed: {exc}", code="not_found") from exc
        if hit is None:
            raise PadlockLinkError(f"lock {self.lock_id.hex()} not heard advertising", code="not_found")
        channel: BleakChannel | None = None

        def dropped(_client: BleakClient) -> None:
            if channel is not None:
                channel.link_dropped("disconnected")

        channel = BleakChannel(BleakClient(hit[0], dropped, timeout=self.connect_timeout_s, bluez=self._bluez))
        try:
            await channel.set_up()
        except BaseException as exc:
            await channel.disconnect()
            if isinstance(exc, PadlockLinkError | asyncio.CancelledError):
                raise
            raise PadlockLinkError(f"connecting to lock {self.lock_id.hex()} failed: {exc!r}",
                                   code="link_lost" if isinstance(exc, BleakError) else "bad_response") from exc
        return channel

    async def close(self) -> None:
        """Nothing to release: bleak's scanner and client live only for one scan or visit."""
