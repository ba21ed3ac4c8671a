"""One poller per Modbus device (the coordinator pattern): it owns polling, retries and health.

Each cycle reads the device's read plan (contiguous register blocks) through the shared bus, decodes it,
and hands the result to a callback. Health has two states; a transition is logged once (failed once,
recovered once), never every cycle. After ``fail_after`` consecutive failed cycles the device is in
comm-fault, and the callback is told so: during a session a missing reading is an alarm, never "safe".
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog

from edge.drivers.modbus.bus import ModbusBus
from edge.errors import ModbusError
from edge.tasks import OwnedTask
from protocols.gasprofile import ReadBlock

T = TypeVar("T")
log = structlog.get_logger(__name__)


Blocks = dict[ReadBlock, list[int] | list[bool]]


@dataclass(frozen=True, slots=True)
class PollPolicy:
    interval_s: float = 1.0
    retries: int = 1  # extra attempts within one cycle before the cycle counts as failed
    fail_after: int = 3  # consecutive failed cycles before comm-fault
    backoff_max_s: float = 10.0  # while in comm-fault, cycles back off up to this


@dataclass(frozen=True, slots=True)
class PollResult(Generic[T]):
    """What one cycle produced: a decoded value, or the error that prevented it."""

    device: str
    at: float  # time.monotonic() of the cycle's end
    value: T | None
    error: ModbusError | None
    comm_fault: bool


class DevicePoller(Generic[T]):
    """Polls one device forever on its bus; start with :meth:`start`, stop with :meth:`stop`."""

    def __init__(self, name: str, bus: ModbusBus, device_id: int, plan: Sequence[ReadBlock],
                 decode: Callable[[Blocks], T], on_result: Callable[[PollResult[T]], Awaitable[None] | None],
                 *, policy: PollPolicy | None = None) -> None:
        self.name = name
        self.bus = bus
        self.device_id = device_id
        self.plan = tuple(plan)
        self.decode = decode
        self.on_result = on_result
        self.policy = policy or PollPolicy()
        self.failed_cycles = 0
        self.cycles = 0
        self._task = OwnedTask(f"poller-{name}")

    @property
    def comm_fault(self) -> bool:
        return self.failed_cycles >= self.policy.fail_after

    async def _read_plan(self) -> Blocks:
        blocks: Blocks = {}
        for block in self.plan:
            if block.function in (3, 4):
                blocks[block] = await self.bus.read_registers(self.device_id, block.function, block.address,
                                                              block.count)
            else:
                blocks[block] = await self.bus.read_bits(self.device_id, block.function, block.address, block.count)
        return blocks

    async def poll_once(self) -> PollResult[T]:
        """One cycle with its retries; updates health and logs a transition once."""
        error: ModbusError | None = None
        value: T | None = None
        for _attempt in range(self.policy.retries + 1):
            try:
                value = self.decode(await self._read_plan())
                error = None
                break
            except ModbusError as exc:
                error = exc
        was_fault = self.comm_fault
        self.cycles += 1
        if error is None:
            if self.failed_cycles:
                log.info("device recovered", device=self.name, after_failed_cycles=self.failed_cycles)
            self.failed_cycles = 0
        else:
            self.failed_cycles += 1
            if self.failed_cycles == 1:
                log.warning("device poll failed", device=self.name, code=error.code, error=str(error))
            if self.comm_fault and not was_fault:
                log.error("device in comm-fault", device=self.name, failed_cycles=self.failed_cycles)
        result = PollResult(self.name, time.monotonic(), value, error, self.comm_fault)
        outcome = self.on_result(result)
        if outcome is not None:
            await outcome
        return result

    def next_delay(self) -> float:
        """The interval, backing off with jitter while the device is in comm-fault."""
        if not self.comm_fault:
            return self.policy.interval_s
        extra = self.failed_cycles - self.policy.fail_after
        delay = min(self.policy.interval_s * (2 ** min(extra, 10)), self.policy.backoff_max_s)
        return delay * random.uniform(0.8, 1.0)  # jitter spreads reconnect storms; not security

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            await self.poll_once()
            next_at = max(next_at + self.next_delay(), loop.time())
            await asyncio.sleep(next_at - loop.time())

    def start(self) -> asyncio.Task[None]:
        return self._task.start(self.run)

    async def stop(self) -> None:
        await self._task.stop()
