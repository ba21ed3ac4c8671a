"""The uplink facade: one interface over the MQTT and HTTP backends (chosen by config, like bleak's backends).

A backend hands a batch to the cloud and resolves a future with the cloud's *application* ack (the watermark
of what the cloud has committed), publishes the gateway's online status, and delivers downlink commands as
they arrived (still signed: ``edge.downlink`` verifies them).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType

import structlog

from edge.uplink.errors import AckTimeout
from protocols.commands import SignedCommand
from protocols.uplink import Ack

log = structlog.get_logger(__name__)

#: Checks a signed ``ack`` command from the ack channel and returns its ack, or None when it is refused.
AckVerifier = Callable[[bytes], Awaitable[Ack | None]]
AckListener = Callable[[Ack], None]
#: A downlink command as it arrived: MQTT gives the wire bytes, an HTTP poll the parsed wire form.
InboundCommand = bytes | SignedCommand

COMMAND_QUEUE_SIZE = 256  # commands are small and rare; a flood beyond this is dropped (the cloud re-issues)


@dataclass(frozen=True, slots=True)
class Batch:
    """An encoded envelope ready to send: records ``first_seq..last_seq`` of ``epoch``."""

    epoch: int
    first_seq: int
    last_seq: int
    count: int
    payload: bytes
    compressed: bool = False


class Uplink(ABC):
    """Send batches and await the cloud's ack; publish status; receive downlink commands.

    Use as ``async with backend:`` or call :meth:`start` and :meth:`close`. Every task and thread a backend
    starts is stopped by :meth:`close`.
    """

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        self._connected = asyncio.Event()
        self._commands: asyncio.Queue[InboundCommand] = asyncio.Queue(COMMAND_QUEUE_SIZE)
        self._ack_listeners: list[AckListener] = []

    # -- lifecycle -----------------------------------------------------------------------------------------

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def close(self) -> None:
        """Say offline (when connected), stop every task and thread, release the connection."""

    async def __aenter__(self) -> Uplink:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self) -> None:
        await self._connected.wait()

    # -- uplink --------------------------------------------------------------------------------------------

    @abstractmethod
    async def submit(self, batch: Batch) -> asyncio.Future[Ack]:
        """Hand ``batch`` to the cloud; the future resolves with the first ack that covers it (watermark at or
        above ``batch.last_seq``) or that reports a gap reaching into it. It fails with UplinkUnavailable if
        the connection drops first. Raises UplinkUnavailable at once when not connected."""

    async def send_batch(self, batch: Batch, *, ack_timeout_s: float) -> Ack:
        """Send ``batch`` and wait for the ack that covers it; AckTimeout after ``ack_timeout_s`` seconds."""
        future = await self.submit(batch)
        try:
            return await asyncio.wait_for(future, ack_timeout_s)
        except TimeoutError:
            raise AckTimeout(f"no ack for seq {batch.first_seq}..{batch.last_seq} within {ack_timeout_s} s") from None

    def add_ack_listener(self, listener: AckListener) -> None:
        """Call ``listener`` with every ack received, including late ones no batch waits for any more."""
        self._ack_listeners.append(listener)

    def _ack_received(self, ack: Ack) -> None:
        for listener in self._ack_listeners:
            listener(ack)

    @abstractmethod
    async def publish_status(self, online: bool) -> None:
        """Publish this gateway's online status (MQTT: retained; HTTP: nothing to publish)."""

    # -- downlink ------------------------------------------------------------------------------------------

    async def next_command(self) -> InboundCommand:
        """The next downlink command as received, unverified; call :meth:`command_handled` when done with it."""
        return await self._commands.get()

    def command_handled(self) -> None:
        """The command last taken with :meth:`next_command` is verified and dispatched (or refused)."""
        self._commands.task_done()

    def _command_received(self, command: InboundCommand) -> None:
        try:
            self._commands.put_nowait(command)
        except asyncio.QueueFull:
            log.warning("downlink_command_dropped", gateway=self.gateway, reason="queue_full")
