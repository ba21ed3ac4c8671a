"""The phone's BLE backend on bumble: a central on the virtual radio (or any HCI transport bumble opens)."""

from __future__ import annotations

import asyncio
import contextlib

from bumble.core import UUID
from bumble.device import Advertisement, Connection, Device, Peer

from fwsim.phone.errors import LinkLost, LockNotFound, UnexpectedAnswer
from fwsim.phone.link import FoundLock, NotificationQueue, advert_for
from protocols.padlock.gatt import DEFAULT_ATT_MTU, NOTIFY_CHARACTERISTIC_UUID, SERVICE_UUID, WRITE_CHARACTERISTIC_UUID

CONNECT_TIMEOUT_S = 10.0
DISCONNECT_TIMEOUT_S = 2.0  # a disconnect whose completion never comes must not hang the phone


class BumbleLink:
    """One GATT link to a padlock: writes go to the request characteristic, notifications come queued."""

    def __init__(self, connection: Connection, write_characteristic: object, queue: NotificationQueue, *,
                 with_response: bool) -> None:
        self.connection = connection
        self._write_characteristic = write_characteristic
        self._queue = queue
        self.with_response = with_response

    @property
    def mtu(self) -> int:
        return int(self.connection.att_mtu)

    @property
    def lost(self) -> bool:
        return self._queue.lost

    async def write(self, fragment: bytes) -> None:
        if self._queue.lost:
            raise LinkLost("the link to the padlock dropped")
        try:
            await self._write_characteristic.write_value(fragment, with_response=self.with_response)  # type: ignore[attr-defined]
        except Exception as exc:  # bumble raises several types when the link goes mid-write
            raise LinkLost(f"the link to the padlock dropped while writing: {exc}") from exc

    async def next_fragment(self, timeout_s: float) -> bytes:
        return await self._queue.get(timeout_s)

    async def close(self) -> None:
        if not self._queue.lost:
            with contextlib.suppress(Exception):  # already going away, or the completion never came
                await asyncio.wait_for(self.connection.disconnect(), DISCONNECT_TIMEOUT_S)


class BumbleCentral:
    """Scans for, and connects to, padlocks with a bumble Device (powered on by its owner)."""

    def __init__(self, device: Device, *, with_response: bool = False) -> None:
        self.device = device
        self.with_response = with_response  # write requests (acknowledged) instead of write commands

    async def find(self, lock_id: bytes, timeout_s: float) -> FoundLock:
        found: asyncio.Future[FoundLock] = asyncio.get_running_loop().create_future()

        def on_advertisement(advertisement: Advertisement) -> None:
            advert = advert_for(lock_id, payload=bytes(advertisement.data_bytes))
            if advert is not None and not found.done() and advertisement.is_connectable:
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

    async def connect(self, found: FoundLock, *, mtu: int) -> BumbleLink:
        try:
            connection = await asyncio.wait_for(self.device.connect(found.address), CONNECT_TIMEOUT_S)
        except TimeoutError:
            raise LinkLost(f"could not connect to {found.address}") from None
        queue = NotificationQueue()
        connection.on(connection.EVENT_DISCONNECTION, lambda _reason: queue.link_lost())
        try:
            peer = Peer(connection)
            if mtu > DEFAULT_ATT_MTU:
                await peer.request_mtu(mtu)
            await peer.discover_services([UUID(str(SERVICE_UUID))])
            await peer.discover_characteristics()
            writes = peer.get_characteristics_by_uuid(UUID(str(WRITE_CHARACTERISTIC_UUID)))
            notifies = peer.get_characteristics_by_uuid(UUID(str(NOTIFY_CHARACTERISTIC_UUID)))
            if not writes or not notifies:
                raise UnexpectedAnswer("the device has no SafeGrid padlock service")
            await peer.subscribe(notifies[0], queue.put)
        except UnexpectedAnswer:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.disconnect(), DISCONNECT_TIMEOUT_S)
            raise
        except Exception as exc:
            if queue.lost:
                raise LinkLost(f"the link dropped while setting up: {exc}") from exc
            with contextlib.suppress(Exception):
                await connection.disconnect()
            raise
        return BumbleLink(connection, writes[0], queue, with_response=self.with_response)
