"""The bleak radio backend: real Bluetooth adapters (BlueZ on Linux; bleak also runs on macOS and Windows).

Deliberately thin: it finds a lock by the lock id in its manufacturer data (:func:`scan`), connects, subscribes
and writes (:func:`open_channel` → :class:`BleakChannel`). BlueZ negotiates the ATT MTU itself (bleak cannot ask
for one): the channel reports what was agreed, read from the write characteristic's largest write without
response (:func:`~protocols.padlock.gatt.mtu_from_max_write`; bleak's ``mtu_size`` on BlueZ is a fixed 23 unless
the MTU was acquired through a characteristic). Its BlueZ calls are tested against BlueZoo (a BlueZ D-Bus mock);
below BlueZ's API (HCI, ATT, link loss) only a real adapter exercises it. bleak is imported by this module only.
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

from padlock_client.channel import GattChannel
from padlock_client.errors import LinkError, LinkLost, LockNotFound, UnexpectedAnswer
from protocols.errors import ProtocolError
from protocols.padlock.advertising import LockAdvert, decode_manufacturer_data
from protocols.padlock.gatt import (
    COMPANY_ID,
    NOTIFY_CHARACTERISTIC_UUID,
    WRITE_CHARACTERISTIC_UUID,
    mtu_from_max_write,
)

DEFAULT_CONNECT_TIMEOUT_S = 10.0  # bleak's own default


def bluez_options(adapter: str | None) -> Any:
    """bleak's ``bluez=`` argument: the adapter to use (e.g. ``hci1``), else the system's default."""
    return {"adapter": adapter} if adapter else {}


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


async def scan(lock_id: bytes, timeout_s: float, *, bluez: Any) -> tuple[BLEDevice, LockAdvert] | None:
    """The first advert of ``lock_id`` heard within ``timeout_s`` and the device it came from (None: not heard).
    A scanner that cannot run raises LockNotFound."""
    found: asyncio.Future[tuple[BLEDevice, LockAdvert]] = asyncio.get_running_loop().create_future()

    def detected(device: BLEDevice, data: AdvertisementData) -> None:
        advert = advert_from_manufacturer_data(data.manufacturer_data, lock_id)
        if advert is not None and not found.done():
            found.set_result((device, advert))

    try:
        async with BleakScanner(detected, bluez=bluez):
            try:
                return await asyncio.wait_for(found, timeout_s)
            except TimeoutError:
                return None
    except BleakError as exc:
        raise LockNotFound(f"scanning failed: {exc}") from exc


class BleakChannel(GattChannel):
    """A padlock link on a bleak client. ``with_response``: write requests rather than write commands."""

    def __init__(self, client: BleakClient, *, with_response: bool = True) -> None:
        super().__init__()
        self.client = client
        self.with_response = with_response

    async def set_up(self) -> None:
        await self.client.connect()
        write = self.client.services.get_characteristic(str(WRITE_CHARACTERISTIC_UUID))
        if write is None or self.client.services.get_characteristic(str(NOTIFY_CHARACTERISTIC_UUID)) is None:
            raise UnexpectedAnswer("the device has no SafeGrid padlock characteristics")
        self.mtu = mtu_from_max_write(write.max_write_without_response_size)
        await self.client.start_notify(str(NOTIFY_CHARACTERISTIC_UUID), lambda _char, data: self.notified(bytes(data)))

    async def send(self, fragment: bytes) -> None:
        await self.client.write_gatt_char(str(WRITE_CHARACTERISTIC_UUID), fragment, response=self.with_response)

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # already gone
            await self.client.disconnect()
        self.link_dropped("closed by this central")


async def open_channel(device: BLEDevice | str, *, bluez: Any, timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
                       with_response: bool = True) -> BleakChannel:
    """Connect to ``device``, check it is a padlock, subscribe; nothing is left connected when it fails.
    Raises LinkLost (bleak could not connect) or UnexpectedAnswer (not a padlock)."""
    channel: BleakChannel | None = None

    def dropped(_client: BleakClient) -> None:
        if channel is not None:
            channel.link_dropped("disconnected")

    channel = BleakChannel(BleakClient(device, dropped, timeout=timeout_s, bluez=bluez), with_response=with_response)
    try:
        await channel.set_up()
    except BaseException as exc:
        await channel.close()
        if isinstance(exc, LinkError | asyncio.CancelledError) or not isinstance(exc, Exception):
            raise
        error = LinkLost if isinstance(exc, BleakError) else UnexpectedAnswer
        raise error(f"connecting to the padlock failed: {exc!r}") from exc
    return channel
