"""The phone's BLE backend on bumble: a central on the virtual radio (or any HCI transport bumble opens).

The phone scans only while it looks for a padlock (it takes the first connectable advert of the lock id); the
connection, GATT set-up and the channel are the shared padlock client's (:mod:`padlock_client.bumble_backend`).
"""

from __future__ import annotations

import asyncio

from bumble.device import Advertisement, Device

from fwsim.phone.errors import LinkLost, LockNotFound
from fwsim.phone.link import FoundLock, LockLink
from padlock_client.bumble_backend import advert_of, open_channel

CONNECT_TIMEOUT_S = 10.0


class BumbleCentral:
    """Scans for, and connects to, padlocks with a bumble Device (powered on by its owner)."""

    def __init__(self, device: Device, *, with_response: bool = False) -> None:
        self.device = device
        self.with_response = with_response  # write requests (acknowledged) instead of write commands

    async def find(self, lock_id: bytes, timeout_s: float) -> FoundLock:
        found: asyncio.Future[FoundLock] = asyncio.get_running_loop().create_future()

        def on_advertisement(advertisement: Advertisement) -> None:
            advert = advert_of(advertisement)
            if advert is not None and advert.lock_id == lock_id and advertisement.is_connectable \
                    and not found.done():
                found.set_result(FoundLock(advertisement.address, advert))

        self.device.on(self.device.EVENT_ADVERTISEMENT, on_advertisement)
        try:
            await self.device.start_scanning(filter_duplicates=False)
            try:
                return await asyncio.wait_for(found, timeout_s)
            except TimeoutError:
                raise LockNotFound(f"no padlock {lock_id.hex()} heard within {timeout_s:g} s") from None
        finally:
            self.device.remove_listener(self.device.EVENT_ADVERTISEMENT, on_advertisement)
            if self.device.is_scanning:
                await self.device.stop_scanning()

    async def connect(self, found: FoundLock, *, mtu: int) -> LockLink:
        try:
            connection = await asyncio.wait_for(self.device.connect(found.address), CONNECT_TIMEOUT_S)
        except TimeoutError:
            raise LinkLost(f"could not connect to {found.address}") from None
        return await open_channel(connection, mtu=mtu, with_response=self.with_response)
