"""The padlock as a bumble GATT peripheral: the thin adapter around :class:`fwsim.lock.core.PadlockCore`.

It exposes the SafeGrid padlock service (write and notify characteristics), reassembles written fragments
at the negotiated ATT MTU, hands each whole request to the core, persists the core's state, then notifies
the response and any events as fragments. It advertises the lock (id, state flags, event seq, battery) while
no central is connected — one central at a time — and refreshes the advert when the state changes. It drops
a link idle for ``LOCK_IDLE_LINK_TIMEOUT_S`` or older than ``LOCK_MAX_LINK_S``, and a link whose junk the core
says is enough (``Reply.drop_link``), right after the answer: junk costs its sender's link, so the next central
— the holder — gets the lock at once.

The runtime fault API: :attr:`faults` (link faults), :meth:`set_drift`, :meth:`set_battery`,
:meth:`force_open`, :meth:`mechanical_key_open`, :meth:`tamper`, :meth:`power_cycle`; and the attendant's
:meth:`close`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

import structlog
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

from fwsim.lock.core import PadlockCore, Reply, request_type_of
from fwsim.lock.faults import LinkFaults
from fwsim.lock.store import LockStore
from protocols.errors import FragmentError
from protocols.padlock import messages as m
from protocols.padlock.advertising import scan_response
from protocols.padlock.audit import AuditEntry
from protocols.padlock.fragment import Reassembler, fragment
from protocols.padlock.gatt import (
    LOCK_IDLE_LINK_TIMEOUT_S,
    LOCK_MAX_LINK_S,
    NOTIFY_CHARACTERISTIC_UUID,
    SERVICE_UUID,
    WRITE_CHARACTERISTIC_UUID,
)

log = structlog.get_logger("fwsim.lock")

DEFAULT_ADVERTISING_INTERVAL_MS = 100.0
BUSY_RETRY_S = 1


@dataclass(eq=False)
class _Link:
    """One connected central: its reassembler, request queue and the tasks serving it."""

    connection: Connection
    reassembler: Reassembler
    number: int  # the core counts junk per link number
    started: float
    last_request: float
    queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)  # None: a broken fragment stream
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one message's fragments back to back
    handling: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class PadlockPeripheral:
    """Serve ``core`` on ``device`` (a bumble Device; powered on by :meth:`start` if it is not yet)."""

    def __init__(self, device: Device, core: PadlockCore, *, store: LockStore | None = None,
                 host_clock: Callable[[], float] = time.time, faults: LinkFaults | None = None,
                 advertising_interval_ms: float = DEFAULT_ADVERTISING_INTERVAL_MS,
                 idle_timeout_s: float = LOCK_IDLE_LINK_TIMEOUT_S, max_link_s: float = LOCK_MAX_LINK_S) -> None:
        self.device = device
        self.core = core
        self.store = store
        self.host_clock = host_clock
        self.faults = faults or LinkFaults()
        self.advertising_interval_ms = advertising_interval_ms
        self.idle_timeout_s = idle_timeout_s
        self.max_link_s = max_link_s
        self.notify_characteristic = Characteristic(
            str(NOTIFY_CHARACTERISTIC_UUID), Characteristic.Properties.NOTIFY, Characteristic.READABLE, b"")
        self.write_characteristic: Characteristic[bytes] = Characteristic(
            str(WRITE_CHARACTERISTIC_UUID),
            Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            Characteristic.WRITEABLE, CharacteristicValue(write=self._on_write))
        device.add_service(Service(str(SERVICE_UUID), [self.write_characteristic, self.notify_characteristic]))
        device.on(device.EVENT_CONNECTION, self._on_connection)
        self._link: _Link | None = None
        self._running = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._advertising_lock = asyncio.Lock()
        self.requests_handled = 0
        self.links_dropped_for_junk = 0
        self._links_made = 0

    # -- life cycle ------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._link is not None

    async def start(self) -> None:
        """Power on (logs ``power_on``) and advertise."""
        if not self.device.powered_on:
            await self.device.power_on()
        self._running = True
        self._commit(self.core.power_on(self.host_clock()))
        await self._advertise()
        log.info("padlock advertising", lock_id=self.core.lock_id.hex(),
                 address=self.device.random_address.to_string(with_type_qualifier=False),
                 lock_key=self.core.lock_public_key.hex(), provisioned=self.core.provisioned,
                 provisioning_mode=self.core.provisioning_mode, event_seq=self.core.log.last_seq)

    async def stop(self) -> None:
        """Drop the link, stop advertising and every task (the device stays powered; its owner powers it off)."""
        self._running = False
        link = self._link
        if link is not None:
            with contextlib.suppress(Exception):  # the link may already be gone
                await link.connection.disconnect()
            self._forget(link)
        if self.device.powered_on:
            async with self._advertising_lock:
                with contextlib.suppress(Exception):
                    await self.device.stop_advertising()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def power_cycle(self, *, rtc_reset: bool = False) -> None:
        """Cut the power and boot again from the state file: RAM (the pending challenge, a half message) is lost.

        ``rtc_reset`` also flattens the RTC battery: the clock restarts at the epoch, the trusted-time floor
        holds (the lock waits for a signed time set).
        """
        await self.stop()
        await self.device.power_off()
        if self.store is not None:
            self.core = self.store.load(random_bytes=self.core.random_bytes)
        if rtc_reset:
            self.core.clock.reset_rtc(self.host_clock())
        await self.device.power_on()
        await self.start()

    # -- the runtime API: physical acts and faults --------------------------------------------------
    async def close(self) -> None:
        """The attendant closes the shackle (ends the session, applies deferred pushes)."""
        await self._act(self.core.close)

    async def force_open(self) -> None:
        await self._act(self.core.force_open)

    async def mechanical_key_open(self) -> None:
        await self._act(self.core.mechanical_key_open)

    async def tamper(self) -> None:
        await self._act(self.core.tamper_switch)

    async def set_battery(self, percent: int | None) -> None:
        await self._act(lambda host: self.core.set_battery(percent, host))

    async def set_drift(self, drift_ppm: float) -> None:
        def act(host: float) -> tuple[AuditEntry, ...]:
            self.core.clock.set_drift(drift_ppm, host)
            return ()

        await self._act(act)

    async def enter_provisioning_mode(self) -> None:
        def act(_host: float) -> tuple[AuditEntry, ...]:
            self.core.enter_provisioning_mode()
            return ()

        await self._act(act)

    async def _act(self, act: Callable[[float], Iterable[AuditEntry]]) -> None:
        events = tuple(act(self.host_clock()))
        self._commit(events)
        await self._publish(events)

    # -- links -------------------------------------------------------------------------------------
    def _on_connection(self, connection: Connection) -> None:
        if self._link is not None or not self._running:  # one central at a time
            self._spawn(connection.disconnect())
            return
        now = asyncio.get_running_loop().time()
        self._links_made += 1
        link = _Link(connection, Reassembler(mtu=connection.att_mtu), self._links_made, started=now,
                     last_request=now)
        self._link = link
        connection.on(connection.EVENT_DISCONNECTION, lambda _reason: self._on_disconnection(link))
        connection.on(connection.EVENT_CONNECTION_ATT_MTU_UPDATE,
                      lambda: link.reassembler.set_mtu(connection.att_mtu))
        link.tasks = [self._spawn(self._serve(link)), self._spawn(self._watch(link))]
        log.debug("central connected", peer=str(connection.peer_address))

    def _on_disconnection(self, link: _Link) -> None:
        if self._link is not link:
            return
        if link.reassembler.reset():
            log.info("link dropped mid-message: partial request discarded")
        self._forget(link)
        if self._running:
            self._spawn(self._advertise())

    def _forget(self, link: _Link) -> None:
        if self._link is link:
            self._link = None
        for task in link.tasks:
            if task is not asyncio.current_task():
                task.cancel()

    def _on_write(self, connection: Connection, value: bytes) -> None:
        link = self._link
        if link is None or link.connection is not connection:
            return
        try:
            message = link.reassembler.feed(bytes(value))
        except FragmentError as exc:
            log.info("bad fragment", code=exc.code)
            link.queue.put_nowait(None)
            return
        if message is None:
            if link.reassembler.in_progress and self.faults.take_drop_request():
                log.info("fault: dropping the link mid-request")
                link.reassembler.reset()
                self._spawn(connection.disconnect())
            return
        if link.handling or not link.queue.empty():
            # A central must wait for the answer before its next request.
            busy = m.Result("busy", request_type_of(message), BUSY_RETRY_S)
            self._spawn(self._send(link, busy.encode()))
            return
        link.queue.put_nowait(message)

    async def _serve(self, link: _Link) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = await link.queue.get()
            link.handling, link.last_request = True, loop.time()
            try:
                if self.faults.response_delay_s:
                    await asyncio.sleep(self.faults.response_delay_s)
                try:  # a broken fragment stream (None) is handled as an undecodable request: junk too
                    reply = self.core.handle(data or b"", self.host_clock(), link.number)
                except Exception:  # a bug must not leave the central waiting on a dead lock
                    log.exception("request handling failed")
                    reply = Reply(m.Result("bad_request", request_type_of(data or b"")))
                self.requests_handled += 1
                self._commit(reply.events)  # on flash before the central hears the answer
                log.debug("request", answer=type(reply.response).__name__,
                          result=getattr(reply.response, "code", None),
                          events=[e.event.kind.name for e in reply.events])
                await self._send(link, reply.response.encode())
                for entry in reply.events:
                    await self._send(link, m.EventNotice(entry.signed).encode())
                if reply.drop_link:
                    self.links_dropped_for_junk += 1
                    log.info("dropping a link", reason="junk")
                    with contextlib.suppress(Exception):
                        await link.connection.disconnect()
                    return
            finally:
                link.handling = False

    async def _watch(self, link: _Link) -> None:
        loop = asyncio.get_running_loop()
        period = max(0.05, min(self.idle_timeout_s, self.max_link_s) / 4)
        while True:
            await asyncio.sleep(period)
            now = loop.time()
            if now - link.last_request > self.idle_timeout_s or now - link.started > self.max_link_s:
                log.info("dropping a link", reason="idle" if now - link.last_request > self.idle_timeout_s
                         else "held too long")
                with contextlib.suppress(Exception):
                    await link.connection.disconnect()
                return

    async def _send(self, link: _Link, data: bytes) -> None:
        async with link.send_lock:
            if self._link is not link:
                return
            fragments = fragment(data, link.connection.att_mtu)
            for index, piece in enumerate(fragments):
                try:
                    await self.device.notify_subscriber(link.connection, self.notify_characteristic, piece)
                except Exception as exc:  # the link went away under us: the message is lost, never half-applied
                    log.info("notification failed", error=str(exc))
                    return
                if index == 0 and len(fragments) > 1 and self.faults.take_drop_response():
                    log.info("fault: dropping the link mid-response")
                    with contextlib.suppress(Exception):
                        await link.connection.disconnect()
                    return

    async def _publish(self, events: Iterable[AuditEntry]) -> None:
        link = self._link
        if link is not None:
            for entry in events:
                await self._send(link, m.EventNotice(entry.signed).encode())
        else:
            await self._advertise()

    # -- advertising and persistence ----------------------------------------------------------------
    async def _advertise(self) -> None:
        async with self._advertising_lock:
            if not self._running or self._link is not None or not self.device.powered_on:
                return
            await self.device.start_advertising(
                advertising_data=self.core.advert().encode(), scan_response_data=scan_response(),
                advertising_interval_min=self.advertising_interval_ms,
                advertising_interval_max=self.advertising_interval_ms)

    def _commit(self, events: Iterable[AuditEntry]) -> None:
        """Persist the core's state (every call: a challenge moves the counter too) and log the events."""
        if self.store is not None:
            self.store.save(self.core)
        for entry in events:
            log.info("lock event", seq=entry.seq, kind=entry.event.kind.name.lower(), at=entry.event.at,
                     value=entry.event.value)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
