"""The bumble radio backend: a central on the virtual radio, or on any HCI transport bumble opens.

- :class:`BumbleCentral` owns one bumble ``Device``: it scans passively all the time, keeps the latest advert of
  each lock id it hears, and serialises connections (a controller initiates one at a time). The gateway shares
  one among the padlock links on a radio; the phone uses one per device.
- :func:`open_channel` sets a connection up (MTU exchange, discovery, subscription) as a :class:`BumbleChannel`.

bumble is imported by this module only: a central on bleak does not need it.
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

from padlock_client.channel import GattChannel, link_abort
from padlock_client.errors import LinkError, LinkLost, LockBusy, LockNotFound, UnexpectedAnswer
from protocols.errors import ProtocolError
from protocols.padlock.advertising import LockAdvert, decode_advertising
from protocols.padlock.gatt import (
    DEFAULT_ATT_MTU,
    NOTIFY_CHARACTERISTIC_UUID,
    PREFERRED_ATT_MTU,
    SERVICE_UUID,
    WRITE_CHARACTERISTIC_UUID,
)

log = structlog.get_logger(__name__)

STRAY_CHECK_S = 0.5
DISCONNECT_TIMEOUT_S = 2.0  # a disconnect whose completion never comes must not hang the central


@dataclass(frozen=True, slots=True)
class Sighting:
    advert: LockAdvert
    address: Address
    connectable: bool
    seen_at: float  # monotonic seconds


class BumbleCentral:
    """A bumble Device as a scanning central. ``await start()`` (idempotent); ``await close()``.

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
        advert = advert_of(advertisement)
        if advert is None:
            return
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
            raise LockNotFound("the bumble central is not started")
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
                raise LockBusy(f"no connection to {address} within {timeout_s} s (held by another central, "
                               "or gone)") from None
            except bumble_core.BaseBumbleError as exc:
                raise LinkLost(f"connecting to {address} failed: {exc!r}") from exc


def advert_of(advertisement: Advertisement) -> LockAdvert | None:
    """The SafeGrid padlock advert in a bumble advertisement (not a scan response), else None."""
    if advertisement.is_scan_response:
        return None
    try:
        return decode_advertising(bytes(advertisement.data_bytes))
    except ProtocolError:
        return None  # not a SafeGrid lock (or a version we do not speak)


async def _quiet_disconnect(connection: Connection) -> None:
    with contextlib.suppress(Exception):  # already going away
        await asyncio.wait_for(connection.disconnect(), DISCONNECT_TIMEOUT_S)


class BumbleChannel(GattChannel):
    """A padlock link on a bumble connection. ``with_response``: write requests (each fragment acknowledged, so
    a dead link shows at once, not at the timeout) rather than write commands."""

    def __init__(self, connection: Connection, *, with_response: bool = True) -> None:
        super().__init__(connection.att_mtu)
        self.connection = connection
        self.with_response = with_response
        self._write: Any = None
        connection.on(connection.EVENT_DISCONNECTION, lambda reason: self.link_dropped(f"disconnected ({reason})"))

    async def set_up(self, mtu: int = PREFERRED_ATT_MTU) -> None:
        """MTU exchange, service discovery, subscription (the lock notifies only once we are subscribed)."""
        peer = Peer(self.connection)
        if mtu > DEFAULT_ATT_MTU:
            self.mtu = await peer.request_mtu(mtu)
        await peer.discover_services([bumble_core.UUID(str(SERVICE_UUID))])
        services = peer.get_services_by_uuid(bumble_core.UUID(str(SERVICE_UUID)))
        if not services:
            raise UnexpectedAnswer("the device has no SafeGrid padlock service")
        await services[0].discover_characteristics()
        writes = services[0].get_characteristics_by_uuid(bumble_core.UUID(str(WRITE_CHARACTERISTIC_UUID)))
        notifies = services[0].get_characteristics_by_uuid(bumble_core.UUID(str(NOTIFY_CHARACTERISTIC_UUID)))
        if not writes or not notifies:
            raise UnexpectedAnswer("the padlock service lacks its characteristics")
        self._write = writes[0]
        await notifies[0].subscribe(self.notified)

    async def send(self, fragment: bytes) -> None:
        await self._write.write_value(fragment, with_response=self.with_response)

    async def close(self) -> None:
        if not self.lost:
            await _quiet_disconnect(self.connection)
        self.link_dropped("closed by this central")


async def open_channel(connection: Connection, *, mtu: int = PREFERRED_ATT_MTU,
                       with_response: bool = True) -> BumbleChannel:
    """Set ``connection`` up as a padlock channel (asking for ``mtu``); on any failure or cancellation nothing is
    left connected. Raises LinkLost when the link dropped meanwhile, UnexpectedAnswer when it is no padlock."""
    channel = BumbleChannel(connection, with_response=with_response)
    try:
        await channel.set_up(mtu)
    except BaseException as exc:
        await channel.close()
        if isinstance(exc, LinkError) or (isinstance(exc, asyncio.CancelledError) and not link_abort(exc)):
            raise
        if channel.lost or link_abort(exc):
            raise LinkLost(f"link lost while setting up: {exc!r}") from exc
        if isinstance(exc, Exception):
            raise UnexpectedAnswer(f"GATT set-up failed: {exc!r}") from exc
        raise
    return channel
