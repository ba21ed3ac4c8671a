"""Register images → pymodbus SimDevices whose SimAction serves the image of the moment.

Each device keeps four separate tables (coils, discrete inputs, holding and input registers), as real
detectors do: input register 0 and holding register 0 are different things. The SimAction runs on every access
before pymodbus answers; it brings the simulated device to the clock's time and writes the current words into
the registers pymodbus is about to send, so values follow the scenario without a background task. It also
turns client writes into device behaviour (output-module coils, watchdog) and refuses what a device refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator, Mapping
from functools import partial
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.simulator import DataType, SimData, SimDevice

from protocols.gasprofile import Image

# pymodbus awaits a coroutine (an async def), not any awaitable
Access = Callable[[int, int, int, int, list[int], list[int] | list[bool] | None], Coroutine[Any, Any, ExcCodes | None]]
# Which of a device's four tables (by the read function that reads it) a Modbus function code touches.
TABLE_OF_FUNCTION = {1: 1, 5: 1, 15: 1, 2: 2, 3: 3, 6: 3, 16: 3, 22: 3, 23: 3, 4: 4}
BIT_TABLES = (1, 2)
WRITE_FUNCTIONS = (5, 6, 15, 16, 22, 23)


def _runs(table: Mapping[int, int]) -> Iterator[tuple[int, list[int]]]:
    """(start address, words) for each run of contiguous addresses."""
    start = -1
    words: list[int] = []
    for address in sorted(table):
        if words and address == start + len(words):
            words.append(table[address])
            continue
        if words:
            yield start, words
        start, words = address, [table[address]]
    if words:
        yield start, words


def _simdata(table: Mapping[int, int], bits: bool) -> list[SimData]:
    if bits:
        data = [SimData(a, values=[bool(w) for w in ws], datatype=DataType.BITS) for a, ws in _runs(table)]
        # pymodbus needs at least one entry per table; a device without bits gets one its action refuses.
        return data or [SimData(0, values=[False], datatype=DataType.BITS)]
    data = [SimData(a, values=ws, datatype=DataType.REGISTERS) for a, ws in _runs(table)]
    return data or [SimData(0, datatype=DataType.INVALID)]


def sim_device(unit: int, image: Image, access: Access) -> SimDevice:
    """A SimDevice serving ``image``'s addresses (others answer exception 2) with ``access`` as its SimAction."""
    coils, inputs, holding, registers = (_simdata(image.get(fn, {}), fn in BIT_TABLES) for fn in (1, 2, 3, 4))
    return SimDevice(id=unit, simdata=(coils, inputs, holding, registers), action=access)


def write_into(registers: list[int], start: int, function: int, table: Mapping[int, int], address: int,
               count: int) -> None:
    """Copy ``table``'s current words into pymodbus's register list of one table (``start`` is that list's first
    address; for bits, its first 16-bit register). Registers from ``address`` on, ``count`` of them, or all bits."""
    if function in BIT_TABLES:
        for bit_address, on in table.items():
            index, bit = divmod(bit_address, 16)
            index -= start
            if 0 <= index < len(registers):
                registers[index] = registers[index] | (1 << bit) if on else registers[index] & ~(1 << bit)
        return
    for a in range(address, address + count):
        if a in table:
            registers[a - start] = table[a]


def bind(method: Callable[..., Coroutine[Any, Any, ExcCodes | None]], unit: int) -> Access:
    """``method(unit, ...)`` as a SimAction for one unit."""
    return partial(method, unit)
