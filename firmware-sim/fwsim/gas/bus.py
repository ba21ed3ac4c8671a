"""One simulated Modbus bus: gas detectors following a scenario and alarm output modules, served by pymodbus
over RTU (a serial port or pty) or Modbus TCP.

Faults live at the transport, where a real bus has them. Every reply passes pymodbus's ``trace_packet`` hook,
bound per connection: a unit in comm-loss (or a unit id nobody simulates, on RTU) sends nothing, a garbled
reply gets a broken CRC, a slow one is held back and written later. With line-speed emulation on, each RTU
reply is held until the moment its last byte would arrive on a real line at the configured baud rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.transport import ModbusProtocol

from fwsim.gas.clock import Clock
from fwsim.gas.devices import TABLE_OF_FUNCTION, WRITE_FUNCTIONS, bind, sim_device, write_into
from fwsim.gas.engine import ScenarioEngine
from fwsim.gas.identification import device_identification_pdu
from fwsim.gas.output_module import OutputModule
from fwsim.gas.scenario import Scenario
from fwsim.gas.wire import garble, gateway_no_response, reply_delay_s, unit_of
from protocols.gasprofile import (
    DetectorSnapshot,
    OutputModuleProfile,
    encode_identification,
    load_profile,
)

logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # its frame dumps and "no response" errors are noise here


@dataclass(frozen=True, slots=True)
class RtuPort:
    """Serve Modbus RTU on a serial port. ``line_speed``: hold each reply for its wire time at ``baudrate``."""

    port: str
    baudrate: int = 9600
    parity: str = "N"
    stopbits: int = 1
    bytesize: int = 8
    line_speed: bool = False


@dataclass(frozen=True, slots=True)
class TcpListen:
    """Serve Modbus TCP; port 0 takes any free port (see :attr:`GasSimulator.tcp_address`)."""

    host: str = "127.0.0.1"
    port: int = 0


@dataclass
class BusStats:
    replies: int = 0  # replies written, at once or later
    dropped: int = 0  # replies not sent: comm loss, or a unit id nobody simulates on RTU
    garbled: int = 0
    delayed: int = 0  # replies held back (slow-reply fault or line-speed emulation)


@dataclass
class _Connection:
    """One client connection's view for the reply hook (RTU has exactly one)."""

    handler: ModbusProtocol
    received_at: float = 0.0
    request_bytes: int = 0


@dataclass
class _Pending:
    handles: set[asyncio.TimerHandle] = field(default_factory=set)


class GasSimulator:
    """Detectors (``units``) playing ``scenario`` and output modules (``output_units``) on one bus.

    ``clock`` gives scenario time: a ``ManualClock`` in tests, a ``ScaledClock`` in runs. ``start_date`` is the
    calendar day at scenario time 0 (maintenance dates count back from it). Use as an async context manager
    around :meth:`serve`, or call :meth:`stop`.
    """

    def __init__(self, scenario: Scenario, *, units: Iterable[int], clock: Clock, start_date: date,
                 output_units: Iterable[int] = (), seed: int | None = None,
                 output_profile: OutputModuleProfile | None = None) -> None:
        self.clock = clock
        self.engine = ScenarioEngine(scenario, units, start_date=start_date, seed=seed)
        profile = output_profile or load_profile("output-module")
        if not isinstance(profile, OutputModuleProfile):
            raise ValueError(f"{profile.id} is not an output-module profile")
        self._outputs = {u: OutputModule(profile, u) for u in sorted(set(output_units))}
        overlap = set(self._outputs) & set(self.engine.units)
        if overlap or any(not 1 <= u <= 247 for u in self._outputs):
            raise ValueError(f"output module unit ids must be 1..247 and differ from the detectors' ({overlap})")
        self.stats = BusStats()
        self.link: RtuPort | TcpListen | None = None
        self._server: ModbusSerialServer | ModbusTcpServer | None = None
        self._pending = _Pending()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.identification = {u: encode_identification(self.engine.profile, identity) for u in self.engine.units
                               if (identity := self.engine.snapshot(u).identity) is not None}
        self.identification.update({u: encode_identification(m.profile, m.identity) for u, m in self._outputs.items()})

    # -- what tests, benchmarks and the CLI look at ----------------------------------------------------------
    @property
    def units(self) -> tuple[int, ...]:
        return self.engine.units

    @property
    def output_units(self) -> tuple[int, ...]:
        return tuple(self._outputs)

    def output_module(self, unit: int) -> OutputModule:
        """The output module at ``unit``: ``.coils``, ``.inputs``, ``.press("ack")``, ``.release("ack")``."""
        self.sync()
        return self._outputs[unit]

    def detector(self, unit: int) -> DetectorSnapshot:
        """What detector ``unit`` shows at the clock's time."""
        self.sync()
        return self.engine.snapshot(unit)

    @property
    def pending_replies(self) -> int:
        """Replies held back and not yet written."""
        return len(self._pending.handles)

    @property
    def tcp_address(self) -> tuple[str, int]:
        """(host, port) a TCP server listens on (the real port when asked for port 0)."""
        server = self._server
        if not isinstance(self.link, TcpListen) or server is None or server.transport is None:
            raise RuntimeError("not serving Modbus TCP")
        # pymodbus declares its listener a BaseTransport; for a TCP server it is the asyncio.Server (has sockets)
        host, port = server.transport.sockets[0].getsockname()[:2]  # type: ignore[attr-defined]
        return host, port

    def sync(self) -> None:
        """Bring every simulated device to the clock's time."""
        t = self.clock.now()
        self.engine.advance_to(t)
        for module in self._outputs.values():
            module.advance_to(t)

    # -- serving -----------------------------------------------------------------------------------------------
    async def serve(self, link: RtuPort | TcpListen) -> None:
        """Open the port (or listen) and answer requests in the background until :meth:`stop`."""
        if self._server is not None:
            raise RuntimeError("already serving")
        self.link = link
        self._loop = asyncio.get_running_loop()
        devices = [sim_device(u, self.engine.image(u), bind(self._detector_access, u)) for u in self.engine.units]
        devices += [sim_device(u, m.image(), bind(self._output_access, u)) for u, m in self._outputs.items()]
        # Id 0 stands for every unit id nobody simulates; the reply hook silences (RTU) or rewrites (TCP) its answers.
        devices.append(sim_device(0, {}, bind(self._nobody_access, 0)))
        common: dict[str, Any] = {"custom_pdu": [device_identification_pdu(self.identification)],
                                  "hooks": self._hook_for}
        if isinstance(link, RtuPort):
            server: ModbusSerialServer | ModbusTcpServer = _SerialServer(
                devices, port=link.port, baudrate=link.baudrate, parity=link.parity, stopbits=link.stopbits,
                bytesize=link.bytesize, **common)
        else:
            server = _TcpServer(devices, address=(link.host, link.port), **common)
        await server.serve_forever(background=True)
        self._server = server

    async def stop(self) -> None:
        for handle in self._pending.handles:
            handle.cancel()
        self._pending.handles.clear()
        server, self._server = self._server, None
        if server is None:
            return
        listener = server.transport
        await server.shutdown()
        if isinstance(listener, asyncio.Server):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listener.wait_closed(), timeout=2.0)

    async def __aenter__(self) -> GasSimulator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- SimActions ----------------------------------------------------------------------------------------------
    async def _detector_access(self, unit: int, function: int, start: int, address: int, count: int,
                               registers: list[int], values: list[int] | list[bool] | None) -> ExcCodes | None:
        if function not in (3, 4) or values is not None:
            return ExcCodes.ILLEGAL_FUNCTION  # a detector has no coils and takes no writes
        self.sync()
        write_into(registers, start, function, self.engine.image(unit).get(function, {}), address, count)
        return None

    async def _output_access(self, unit: int, function: int, start: int, address: int, count: int,
                             registers: list[int], values: list[int] | list[bool] | None) -> ExcCodes | None:
        self.sync()
        module = self._outputs[unit]
        table = TABLE_OF_FUNCTION.get(function)
        if function in WRITE_FUNCTIONS and values is not None:
            watchdog = module.profile.watchdog
            if table == 1:
                if not module.write_coils(address, [bool(v) for v in values]):
                    return ExcCodes.ILLEGAL_ADDRESS
            elif function in (6, 16) and watchdog is not None and address == watchdog.address and len(values) == 1:
                module.write_watchdog(int(values[0]))
            else:
                return ExcCodes.ILLEGAL_ADDRESS
            return None
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        # Reads, and pymodbus's read-back after a write, get the module's current state.
        write_into(registers, start, table, module.image().get(table, {}), address, count)
        return None

    async def _nobody_access(self, _unit: int, *_args: object) -> ExcCodes | None:
        return ExcCodes.GATEWAY_NO_RESPONSE

    # -- the reply hook -------------------------------------------------------------------------------------------
    def _hook_for(self, handler: ModbusProtocol) -> Callable[[bool, bytes], bytes]:
        connection = _Connection(handler)

        def trace_packet(sending: bool, data: bytes) -> bytes:
            if not sending:
                connection.received_at = asyncio.get_running_loop().time()
                connection.request_bytes = len(data)
                return data
            return self._outgoing(connection, data)

        return trace_packet

    def _outgoing(self, connection: _Connection, packet: bytes) -> bytes:
        rtu = isinstance(self.link, RtuPort)
        unit = unit_of(packet, rtu=rtu)
        simulated = unit in self._outputs or unit in self.engine.units
        if not simulated:
            if not rtu:
                return gateway_no_response(packet)  # what a Modbus TCP gateway says for a unit it cannot reach
            self.stats.dropped += 1  # nobody at that address on a serial line: silence
            return b""
        self.sync()
        fault = self.engine.fault(unit) if unit in self.engine.units else None
        if fault is not None and fault.kind == "comm_loss":
            self.stats.dropped += 1
            return b""
        if fault is not None and fault.kind == "garbled_crc":
            packet = garble(packet, rtu=rtu)
            self.stats.garbled += 1
        delay = fault.delay_s if fault is not None else 0.0
        if isinstance(self.link, RtuPort) and self.link.line_speed:
            delay += reply_delay_s(connection.request_bytes, len(packet), self.link.baudrate)
        assert self._loop is not None
        due = connection.received_at + delay
        if due <= self._loop.time():
            self.stats.replies += 1
            return packet
        self.stats.delayed += 1
        handle: asyncio.TimerHandle | None = None

        def deliver() -> None:
            self._pending.handles.discard(handle)
            if connection.handler.transport is not None:
                connection.handler.send(packet)
                self.stats.replies += 1

        handle = self._loop.call_at(due, deliver)
        self._pending.handles.add(handle)
        return b""


class _HookedServer:
    """Gives each client connection its own ``trace_packet`` hook, made by ``hooks(handler)``."""

    _hooks: Callable[[ModbusProtocol], Callable[[bool, bytes], bytes]]

    def callback_new_connection(self) -> ModbusProtocol:
        # A mixin: the pymodbus server class it is mixed into has callback_new_connection (mypy sees only object)
        handler: ModbusProtocol = super().callback_new_connection()  # type: ignore[misc]
        # trace_packet is the hook the protocol calls when set; pymodbus does not declare it on ModbusProtocol
        handler.trace_packet = self._hooks(handler)  # type: ignore[attr-defined]
        return handler


class _SerialServer(_HookedServer, ModbusSerialServer):
    def __init__(self, *args: Any, hooks: Callable[[ModbusProtocol], Callable[[bool, bytes], bytes]],
                 **kwargs: Any) -> None:
        self._hooks = hooks
        super().__init__(*args, **kwargs)


class _TcpServer(_HookedServer, ModbusTcpServer):
    def __init__(self, *args: Any, hooks: Callable[[ModbusProtocol], Callable[[bool, bytes], bytes]],
                 **kwargs: Any) -> None:
        self._hooks = hooks
        super().__init__(*args, **kwargs)
