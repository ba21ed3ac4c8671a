"""One alarm output module: siren, beacon and fan coils driven by what the spaces want, plus its local inputs.

The safety core decides per space (siren on, beacon on, fan started); a module may serve several spaces, so a
siren is on while any of its spaces wants it. One owned task per module writes a coil as soon as its wanted
state changes, re-asserts every coil every ``refresh_s`` (a module that restarted comes back right), writes
the module's watchdog register so the module sounds by itself when the gateway dies, and reads the local
inputs: a press of the acknowledge button is reported once, on its rising edge.
"""

from __future__ import annotations

import asyncio
import contextlib
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


class OutputModuleLink:
    """Wanted outputs by (space, kind) → coils. ``want`` never blocks: the module's task does the writing."""

    def __init__(self, config: OutputModuleConfig, bus: ModbusBus, profile: OutputModuleProfile,
                 on_input: OnInput | None = None) -> None:
        self.config = config
        self.id = config.id
        self.bus = bus
        self.profile = profile
        self._on_input = on_input
        self._wants: dict[tuple[str, str], bool] = {}  # (space, output name) → on
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

    def want(self, space: str, kind: str, on: bool, channel: int | None = None) -> None:
        """Space ``space`` wants its outputs of ``kind`` (siren, beacon, fan) on or off."""
        for name in self.outputs(kind, channel):
            self._wants[(space, name)] = on
        self._wake.set()

    def desired(self) -> dict[str, bool]:
        out: dict[str, bool] = {}
        for (_space, name), on in self._wants.items():
            out[name] = out.get(name, False) or on
        return out

    def start(self) -> None:
        self._task.start(self.run)

    async def stop(self) -> None:
        await self._task.stop()

    async def _apply(self, force: bool) -> None:
        desired = self.desired()
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
                await self._apply(force=now >= next_refresh)
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
            waits = [next_refresh, next_inputs if self._plan else next_refresh]
            if cfg.watchdog_s and self.profile.watchdog is not None:
                waits.append(next_watchdog)
            self._wake.clear()
            if self.desired() != self._applied:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, min(waits) - time.monotonic()))
