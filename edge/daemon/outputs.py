"""One alarm output module: siren, beacon and fan coils driven by what the spaces want, plus its local inputs.

The safety core decides per space (siren continuous or pulsed, beacon on, fan started); a module may serve several
spaces, so an output is on while any of its spaces wants it, and continuous wins over pulsed. One owned task per
module writes a coil as soon as its wanted state changes, makes the pulse pattern (``fault_pulse_on_s`` on at the
start of every ``fault_pulse_period_s``, the first pulse at once; the timing lives here, not in the core), re-asserts
every coil every ``refresh_s`` (a module that restarted comes back right, in the pattern's current phase), writes
the module's watchdog register so the module sounds by itself when the gateway dies, and reads the local
inputs: a press of the acknowledge button is reported once, on its rising edge.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable

import structlog

from edge.config import OutputModuleConfig
from edge.drivers.modbus import ModbusBus
from edge.errors import ModbusError
from edge.tasks import OwnedTask
from protocols.errors import ProfileError
from protocols.gasprofile import OutputModuleProfile, coil_writes, decode_output_module, outputs_of_kind, read_plan

log = structlog.get_logger(__name__)

OnInput = Callable[["OutputModuleLink", str], Awaitable[None]]

OFF, PULSED, ON = 0, 1, 2  # an output's wanted level, ordered: the strongest of a module's spaces wins
EDGE_S = 0.001


class OutputModuleLink:
    """Wanted outputs by (space, kind) → coils. ``want`` never blocks: the module's task does the writing."""

    def __init__(self, config: OutputModuleConfig, bus: ModbusBus, profile: OutputModuleProfile,
                 on_input: OnInput | None = None) -> None:
        self.config = config
        self.id = config.id
        self.bus = bus
        self.profile = profile
        self._on_input = on_input
        self._wants: dict[tuple[str, str], int] = {}  # (space, output name) → OFF, PULSED or ON
        self._pulse_since: dict[str, float] = {}  # output name → monotonic start of its pulsing (phase 0)
        self._applied: dict[str, bool] = {}
        self._wake = asyncio.Event()
        self._task = OwnedTask(f"outputs-{config.id}")
        self._inputs: dict[str, bool] = {}
        self._watchdog = 0
        self.healthy = True
        self.writes = 0
        self.last_error: str | None = None
        self._plan = read_plan(profile)

    def outputs(self, kind: str, channel: int | None = None) -> tuple[str, ...]:
        return outputs_of_kind(self.profile, kind, channel)

    def want(self, space: str, kind: str, on: bool, channel: int | None = None, *, pulsed: bool = False) -> None:
        """Space ``space`` wants its outputs of ``kind`` (siren, beacon, fan) on, pulsed (``on`` and ``pulsed``:
        the gateway-fault pattern) or off."""
        level = (PULSED if pulsed else ON) if on else OFF
        before = self.levels()
        for name in self.outputs(kind, channel):
            self._wants[(space, name)] = level
        now = time.monotonic()
        for name, now_level in self.levels().items():
            if now_level != PULSED:
                self._pulse_since.pop(name, None)
            elif before.get(name) != PULSED:
                self._pulse_since[name] = now  # a pattern starts with its pulse: heard at once
        self._wake.set()

    def levels(self) -> dict[str, int]:
        """Each output's wanted level over all the module's spaces: the strongest wins (ON over PULSED over OFF)."""
        out: dict[str, int] = {}
        for (_space, name), level in self._wants.items():
            out[name] = max(out.get(name, OFF), level)
        return out

    def desired(self, now: float | None = None) -> dict[str, bool]:
        """Each coil's state at monotonic ``now`` (default: now): a pulsed output is on in its pulse's window."""
        at = time.monotonic() if now is None else now
        return {name: level == ON or (level == PULSED and self._in_pulse(name, at))
                for name, level in self.levels().items()}

    def _in_pulse(self, name: str, at: float) -> bool:
        return (at - self._pulse_since.get(name, at)) % self.config.fault_pulse_period_s < self.config.fault_pulse_on_s

    def _next_edge(self, at: float) -> float:
        """When the next pulse starts or ends (infinity without a pulsed output)."""
        cfg, edges = self.config, [math.inf]
        for since in self._pulse_since.values():
            phase = (at - since) % cfg.fault_pulse_period_s
            edges.append(at + (cfg.fault_pulse_on_s - phase if phase < cfg.fault_pulse_on_s
                               else cfg.fault_pulse_period_s - phase))
        return min(edges)

    def start(self) -> None:
        self._task.start(self.run)

    async def stop(self) -> None:
        await self._task.stop()

    async def _apply(self, force: bool, now: float) -> None:
        desired = self.desired(now)
        for name in sorted(desired):
            on = desired[name]
            if not force and self._applied.get(name) == on:
                continue
            for coil, value in coil_writes(self.profile, {name: on}):
                await self.bus.write_coil(self.config.unit, coil, value)
            self._applied[name] = on
            self.writes += 1

    async def _read_inputs(self) -> None:
        blocks: dict[object, list[int] | list[bool]] = {}
        unit = self.config.unit
        for block in self._plan:
            if block.function in (1, 2):
                blocks[block] = await self.bus.read_bits(unit, block.function, block.address, block.count)
            else:
                blocks[block] = await self.bus.read_registers(unit, block.function, block.address, block.count)
        try:
            state = decode_output_module(self.profile, blocks)
        except ProfileError as exc:
            raise ModbusError(f"{self.id}: undecodable inputs: {exc}", code="bad_response") from exc
        for name, on in state.inputs.items():
            was = self._inputs.get(name, False)
            self._inputs[name] = on
            if on and not was and self._on_input is not None:
                await self._on_input(self, name)

    async def run(self) -> None:
        """Drive the module forever (:meth:`start` runs it as an owned task; the daemon runs it supervised)."""
        cfg = self.config
        next_refresh = next_watchdog = next_inputs = 0.0
        while True:
            now = time.monotonic()
            try:
                await self._apply(now >= next_refresh, now)
                if now >= next_refresh:
                    next_refresh = now + cfg.refresh_s
                if cfg.watchdog_s and self.profile.watchdog is not None and now >= next_watchdog:
                    self._watchdog = (self._watchdog + 1) & 0xFFFF
                    await self.bus.write_register(cfg.unit, self.profile.watchdog.address, self._watchdog)
                    next_watchdog = now + cfg.watchdog_s
                if self._plan and now >= next_inputs:
                    await self._read_inputs()
                    next_inputs = now + cfg.input_poll_s
                if not self.healthy:
                    log.info("output module reachable again", module=self.id)
                self.healthy, self.last_error = True, None
            except ModbusError as exc:
                if self.healthy:
                    log.error("output module unreachable", module=self.id, code=exc.code, error=str(exc))
                self.healthy, self.last_error = False, str(exc)
                self._applied.clear()  # unknown now: write everything again once it answers
                next_refresh = 0.0
                await asyncio.sleep(min(cfg.refresh_s, 1.0))
                continue
            # A pulse edge is a wake-up too (a hair after it, so the edge's phase is past when it is computed).
            waits = [next_refresh, next_inputs if self._plan else next_refresh, self._next_edge(now) + EDGE_S]
            if cfg.watchdog_s and self.profile.watchdog is not None:
                waits.append(next_watchdog)
            self._wake.clear()
            if self.desired(time.monotonic()) != self._applied:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, min(waits) - time.monotonic()))
