"""One Modbus bus: serialised transactions, the inter-frame gap, and reopening a lost port.

Several detectors on one RS-485 line share one tty; two requests racing on it corrupt both. So every
transaction on a bus goes through one lock, and the next request waits out the RTU inter-frame silence
(3.5 character times; fixed 1.75 ms above 19,200 baud, per the Modbus serial-line spec) after the last one.
A port that disappears (a USB–RS-485 adapter unplugged) is closed and reopened on the next request, so
polling resumes by itself when it comes back. Retries and health belong to the pollers, not here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from edge.errors import ModbusError
from protocols.modbus_rtu import frame_gap_s

logging.getLogger("pymodbus").setLevel(logging.WARNING)  # its DEBUG frame dumps are not our logs

@dataclass(frozen=True, slots=True)
class SerialLine:
    port: str
    baudrate: int = 9600
    parity: str = "N"
    stopbits: int = 1
    bytesize: int = 8
    timeout_s: float = 0.5


@dataclass(frozen=True, slots=True)
class TcpEndpoint:
    host: str
    port: int = 502
    timeout_s: float = 1.0


class ModbusBus:
    """Serialised access to one Modbus line. Use as ``async with ModbusBus(...) as bus``."""

    def __init__(self, link: SerialLine | TcpEndpoint, *, name: str = "bus") -> None:
        self.link = link
        self.name = name
        self._lock = asyncio.Lock()
        self._client: AsyncModbusSerialClient | AsyncModbusTcpClient | None = None
        self._last_end = 0.0
        self._gap = frame_gap_s(link.baudrate) if isinstance(link, SerialLine) else 0.0
        self._opened_once = False
        self.transactions = 0
        self.reopens = 0  # how often the port came back after being lost

    async def __aenter__(self) -> ModbusBus:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _new_client(self) -> AsyncModbusSerialClient | AsyncModbusTcpClient:
        link = self.link
        # retries=0 and reconnect_delay=0: the pollers own the retry policy and we own reopening.
        if isinstance(link, SerialLine):
            return AsyncModbusSerialClient(link.port, baudrate=link.baudrate, parity=link.parity,
                                           stopbits=link.stopbits, bytesize=link.bytesize,
                                           timeout=link.timeout_s, retries=0, reconnect_delay=0, name=self.name)
        return AsyncModbusTcpClient(link.host, port=link.port, timeout=link.timeout_s, retries=0,
                                    reconnect_delay=0, name=self.name)

    async def _ensure_open(self) -> AsyncModbusSerialClient | AsyncModbusTcpClient:
        if self._client is not None and self._client.connected:
            return self._client
        self._drop()
        client = self._new_client()
        try:
            ok = await client.connect()
        except (OSError, ModbusException) as exc:
            client.close()
            raise ModbusError(f"{self.name}: cannot open: {exc}", code="port_lost") from exc
        if not ok:
            client.close()
            raise ModbusError(f"{self.name}: cannot open {self._describe()}", code="port_lost")
        if self._opened_once:
            self.reopens += 1
        self._opened_once = True
        self._client = client
        return client

    def _drop(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    def _describe(self) -> str:
        link = self.link
        return link.port if isinstance(link, SerialLine) else f"{link.host}:{link.port}"

    async def _transact(self, op: str, address: int, *, device_id: int, count: int = 1,
                        value: bool | None = None, word: int = 0) -> list[int] | list[bool]:
        async with self._lock:
            client = await self._ensure_open()
            wait = self._last_end + self._gap - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                if op == "write_coil":
                    rsp = await client.write_coil(address, bool(value), device_id=device_id)
                elif op == "write_register":
                    rsp = await client.write_register(address, word, device_id=device_id)
                else:
                    rsp = await getattr(client, op)(address, count=count, device_id=device_id)
            except ModbusException as exc:
                # pymodbus reports both a silent device and a vanished port this way; tell them apart.
                code = "timeout" if client.connected else "port_lost"
                if code == "port_lost":
                    self._drop()
                raise ModbusError(f"{self.name}: device {device_id} {op}@{address}: {exc}", code=code) from exc
            except OSError as exc:
                self._drop()
                raise ModbusError(f"{self.name}: {exc}", code="port_lost") from exc
            finally:
                self._last_end = time.monotonic()
                self.transactions += 1
        if rsp.isError():
            exc_code = getattr(rsp, "exception_code", None)
            raise ModbusError(f"{self.name}: device {device_id} {op}@{address}: exception {exc_code}",
                              code="exception", exception_code=exc_code)
        if op in ("read_coils", "read_discrete_inputs"):
            return list(rsp.bits[:count])
        if op == "write_coil":
            return [bool(value)]
        if op == "write_register":
            return [word]
        registers = list(rsp.registers)
        if len(registers) != count:
            raise ModbusError(f"{self.name}: device {device_id} returned {len(registers)} of {count} registers",
                              code="bad_response")
        return registers

    async def read_registers(self, device_id: int, function: int, address: int, count: int) -> list[int]:
        """Read ``count`` registers with function 3 (holding) or 4 (input)."""
        op = {3: "read_holding_registers", 4: "read_input_registers"}.get(function)
        if op is None:
            raise ValueError(f"register reads use function 3 or 4, not {function}")
        # _transact's result depends on op (words here); its declared type is the union of both kinds
        return await self._transact(op, address, device_id=device_id, count=count)  # type: ignore[return-value]

    async def read_bits(self, device_id: int, function: int, address: int, count: int) -> list[bool]:
        """Read ``count`` coils (function 1) or discrete inputs (function 2)."""
        op = {1: "read_coils", 2: "read_discrete_inputs"}.get(function)
        if op is None:
            raise ValueError(f"bit reads use function 1 or 2, not {function}")
        # bits here, for the same reason as in read_registers
        return await self._transact(op, address, device_id=device_id, count=count)  # type: ignore[return-value]

    async def write_coil(self, device_id: int, address: int, value: bool) -> None:
        await self._transact("write_coil", address, device_id=device_id, value=value)

    async def write_register(self, device_id: int, address: int, value: int) -> None:
        """Write one holding register (function 6), e.g. an output module's watchdog."""
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"a register holds 0..65535, not {value}")
        await self._transact("write_register", address, device_id=device_id, word=value)

    async def close(self) -> None:
        async with self._lock:
            self._drop()
