"""The bumble backend: the gateway as a bumble BLE central (the virtual radio, or any bumble HCI transport).

:class:`BumbleCentral` owns one bumble ``Device``: it scans passively all the time, keeps the latest advert of
each lock id it hears, and serialises connections (a controller initiates one at a time). Several
:class:`BumblePadlockLink` share one central; a link made with ``hci=`` opens and owns its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from dataclasses import dataclass
from typing import Any

import structlog
from bumble import core as bumble_core
from bumble import hci as bumble_hci
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.hci import Address
from bumble.transport import open_transport

from edge.drivers.ble.channel import GattChannel, link_abort
from edge.drivers.ble.errors import PadlockLinkError
from edge.drivers.ble.link import PadlockLink
from protocols.errors import ProtocolError
from protocols.padlock.advertising import LockAdvert, decode_advertising
from protocols.padlock.gatt import (
    NOTIFY_CHARACTERISTIC_UUID,
    PREFERRED_ATT_MTU,
    SERVICE_UUID,
    WRITE_CHARACTERISTIC_UUID,
)

log = structlog.get_logger(__name__)

#: An advert older than this no longer says the lock is there (a held lock stops advertising).
SIGHTING_FRESH_S = 3.0
STRAY_CHECK_S = 0.5


@dataclass(frozen=True, slots=True)
class Sighting:
    advert: LockAdvert
    address: Address
    connectable: bool
    seen_at: float  # monotonic seconds


class BumbleCentral:
    """The gateway's bumble Device as a scanning central. ``await start()``; ``await close()``.

    Give ``device`` (a bumble Device, e.g. on the rig's LocalLink; powered on here if it is not) or ``hci``
    (a transport spec such as ``tcp-client:127.0.0.1:PORT``: the transport is opened and closed here).
    """

    def __init__(self, device: Device | None = None, *, hci: str | None = None,
                 name: str = "SafeGrid gateway") -> None:
        if (device is None) == (hci is None):
            raise ValueError("give exactly one of device and hci")
        self.device = device
        self._hci = hci
        self._name = name
        self._transport: Any = None
        self._sightings: dict[bytes, Sighting] = {}
        self._waiters: dict[bytes, set[asyncio.Future[Sighting]]] = {}
        self._claimed: weakref.WeakSet[Connection] = weakref.WeakSet()  # connections a connect() returned
        self._strays: set[asyncio.Task[None]] = set()
        self._connect_lock = asyncio.Lock()
        self._started = False

    async def start(self) -> None:
        if self._started:
            return
        if self.device is None:
            assert self._hci is not None
            self._transport = await open_transport(self._hci)
            self.device = Device.with_hci(self._name, Address.generate_static_address(), self._transport.source,
                                          self._transport.sink)
        self.device.on(self.device.EVENT_ADVERTISEMENT, self._on_advertisement)
        self.device.on(self.device.EVENT_CONNECTION, self._on_connection)
        if not self.device.powered_on:
            await self.device.power_on()
        # Passive: the advert itself carries everything (the scan response only names the service).
        await self.device.start_scanning(active=False, filter_duplicates=False)
        self._started = True

    async def close(self) -> None:
        device, self._started = self.device, False
        if device is not None:
            device.remove_listener(device.EVENT_ADVERTISEMENT, self._on_advertisement)
            device.remove_listener(device.EVENT_CONNECTION, self._on_connection)
        for task in list(self._strays):
            with contextlib.suppress(Exception):
                await task
        if device is not None and device.powered_on:
            with contextlib.suppress(Exception):  # closing must reach the transport
                await asyncio.wait_for(device.stop_scanning(), 2.0)
            if self._transport is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(device.power_off(), 2.0)
        if self._transport is not None:
            with contextlib.suppress(Exception):
                await self._transport.close()
            self._transport, self.device = None, None

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        if advertisement.is_scan_response:
            return
        try:
            advert = decode_advertising(advertisement.data_bytes)
        except ProtocolError:
            return  # not a SafeGrid lock (or a version we do not speak)
        sighting = Sighting(advert, advertisement.address, advertisement.is_connectable, time.monotonic())
        self._sightings[advert.lock_id] = sighting
        for waiter in self._waiters.pop(advert.lock_id, ()):
            if not waiter.done():
                waiter.set_result(sighting)

    def _on_connection(self, connection: Connection) -> None:
        if connection.role != bumble_hci.Role.CENTRAL:
            return
        # connect() claims its connection as soon as it resumes; one nobody claimed is the late completion of a
        # withdrawn request (a controller may complete it regardless): let the lock go at once.
        asyncio.get_running_loop().call_later(STRAY_CHECK_S, self._drop_if_unclaimed, connection)

    def _drop_if_unclaimed(self, connection: Connection) -> None:
        if connection in self._claimed or not self._started:
            return
        log.info("bumble.stray_connection_dropped", peer=str(connection.peer_address))
        task = asyncio.get_running_loop().create_task(_quiet_disconnect(connection))
        self._strays.add(task)
        task.add_done_callback(self._strays.discard)

    def latest(self, lock_id: bytes) -> Sighting | None:
        return self._sightings.get(lock_id)

    async def next_sighting(self, lock_id: bytes, timeout_s: float) -> Sighting | None:
        """The next advert of ``lock_id`` heard from now on, or None when none comes within ``timeout_s``."""
        if not self._started:
            raise PadlockLinkError("the bumble central is not started", code="not_found")
        waiter: asyncio.Future[Sighting] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(lock_id, set()).add(waiter)
        try:
            return await asyncio.wait_for(waiter, timeout_s)
        except TimeoutError:
            return None
        finally:
            self._waiters.get(lock_id, set()).discard(waiter)

    async def connect(self, address: Address, timeout_s: float) -> Connection:
        device = self.device
        assert device is not None
        async with self._connect_lock:
            try:
                connection = await device.connect(address, timeout=timeout_s)
                self._claimed.add(connection)
                return connection
            except asyncio.CancelledError:
                # Cancelled from outside: withdraw the pending connection request (bumble does so only on its
                # own timeout); a connection completing anyway is dropped by _on_connection.
                with contextlib.suppress(Exception):
                    await asyncio.shield(asyncio.wait_for(
                        device.send_sync_command(bumble_hci.HCI_LE_Create_Connection_Cancel_Command()), 2.0))
                raise
            except (bumble_core.TimeoutError, TimeoutError):
                raise PadlockLinkError(f"no connection to {address} within {timeout_s} s (held by another "
                                       "central, or gone)", code="busy") from None
            except bumble_core.BaseBumbleError as exc:
                raise PadlockLinkError(f"connecting to {address} failed: {exc!r}", code="link_lost") from exc


async def _quiet_disconnect(connection: Connection) -> None:
    with contextlib.suppress(Exception):  # already going away
        await asyncio.wait_for(connection.disconnect(), 2.0)


class BumbleChannel(GattChannel):
    def __init__(self, connection: Connection) -> None:
        super().__init__(connection.att_mtu)
        self.connection = connection
        self._write: Any = None
        connection.on(connection.EVENT_DISCONNECTION, lambda reason: self.link_dropped(f"disconnected ({reason})"))

    async def set_up(self) -> None:
        """MTU exchange, service discovery, subscription (the lock notifies only once we are subscribed)."""
        peer = Peer(self.connection)
        self.mtu = await peer.request_mtu(PREFERRED_ATT_MTU)
        await peer.discover_services([bumble_core.UUID(str(SERVICE_UUID))])
        services = peer.get_services_by_uuid(bumble_core.UUID(str(SERVICE_UUID)))
        if not services:
            raise PadlockLinkError("the device has no SafeGrid padlock service", code="bad_response")
        await services[0].discover_characteristics()
        writes = services[0].get_characteristics_by_uuid(bumble_core.UUID(str(WRITE_CHARACTERISTIC_UUID)))
        notifies = services[0].get_characteristics_by_uuid(bumble_core.UUID(str(NOTIFY_CHARACTERISTIC_UUID)))
        if not writes or not notifies:
            raise PadlockLinkError("the padlock service lacks its characteristics", code="bad_response")
        self._write = writes[0]
        await notifies[0].subscribe(self.notified)

    async def send(self, fragment: bytes) -> None:
        # With response: the lock acknowledges each fragment, so a dead link shows at once, not at the timeout.
        await self._write.write_value(fragment, with_response=True)

    async def disconnect(self) -> None:
        if not self.lost:
            await _quiet_disconnect(self.connection)
        self.link_dropped("closed by the gateway")


class BumblePadlockLink(PadlockLink):
    """A padlock reached through a :class:`BumbleCentral` (shared: ``central=``; owned: ``hci=``)."""

    def __init__(self, *, central: BumbleCentral | None = None, hci: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        if (central is None) == (hci is None):
            raise ValueError("the bumble backend needs exactly one of central= and hci=")
        self.central = central or BumbleCentral(hci=hci)
        self._owns_central = central is None

    async def _ensure_started(self) -> None:
        if self._owns_central:
            await self.central.start()

    async def scan_advert(self, timeout_s: float) -> LockAdvert | None:
        await self._ensure_started()
        sighting = await self.central.next_sighting(self.lock_id, timeout_s)
        return sighting.advert if sighting else None

    async def _open_channel(self) -> GattChannel:
        await self._ensure_started()
        sighting = self.central.latest(self.lock_id)
        if sighting is None or time.monotonic() - sighting.seen_at > SIGHTING_FRESH_S:
            # A lock held by a phone stops advertising: wait (briefly) to hear it free again.
            sighting = await self.central.next_sighting(self.lock_id, self.scan_timeout_s)
        if sighting is None:
            raise PadlockLinkError(f"lock {self.lock_id.hex()} not heard advertising", code="not_found")
        if not sighting.connectable:
            raise PadlockLinkError(f"lock {self.lock_id.hex()} advertises as not connectable (held)", code="busy")
        # Bumble's own connect timeout fires first, so it withdraws the request cleanly before ours.
        connection = await self.central.connect(sighting.address, self.connect_timeout_s * 0.6)
        channel = BumbleChannel(connection)
        try:
            await channel.set_up()
        except BaseException as exc:
            await channel.disconnect()
            if isinstance(exc, PadlockLinkError) or (isinstance(exc, asyncio.CancelledError) and not link_abort(exc)):
                raise
            if channel.lost or link_abort(exc):
                raise PadlockLinkError(f"link lost while setting up: {exc!r}", code="link_lost") from exc
            raise PadlockLinkError(f"GATT set-up failed: {exc!r}", code="bad_response") from exc
        return channel

    async def close(self) -> None:
        if self._owns_central:
            await self.central.close()
