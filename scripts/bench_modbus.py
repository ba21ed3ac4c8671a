"""Modbus benchmark: the gas simulator over a pty beside a bare pymodbus server, and polling at 9600 baud with
line-speed emulation beside the wire limit. Figures are measured in the same run; nothing is asserted.

Run with ``scripts/bench modbus [--seconds S]``. Needs ``socat`` for the pty pair (falls back to a joined
``os.openpty`` pair without it, which adds its own copying thread).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

from pymodbus.client import AsyncModbusSerialClient
from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import DataType, SimData, SimDevice

from edge.drivers.modbus import ModbusBus, SerialLine
from fwsim.gas import GasSimulator, RtuPort, ScaledClock, load_scenario
from fwsim.rig.availability import find_binary
from fwsim.rig.serial_line import PtyLine
from protocols.modbus_rtu import read_reply_bytes, read_request_bytes, transaction_time_s

BAUD = 9600
LIVE_BLOCK = (4, 0, 10)  # function, start, count: a 4-gas detector's live registers


async def rate(call: Callable[[], Awaitable[object]], seconds: float) -> float:
    """Completed calls per second over about ``seconds`` (after a short warm-up)."""
    for _ in range(5):
        await call()
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        await call()
        n += 1
    return n / elapsed


async def client_reads(port: str, seconds: float) -> float:
    client = AsyncModbusSerialClient(port, baudrate=BAUD, timeout=1, retries=0, reconnect_delay=0)
    await client.connect()
    try:
        async def read() -> None:
            rsp = await client.read_input_registers(LIVE_BLOCK[1], count=LIVE_BLOCK[2], device_id=1)
            if rsp.isError():
                raise RuntimeError(f"read failed: {rsp}")
        return await rate(read, seconds)
    finally:
        client.close()


async def bare_server_reads(line: PtyLine, seconds: float) -> float:
    no_bits = [SimData(0, values=[False], datatype=DataType.BITS)]
    tables = (no_bits, list(no_bits),
              [SimData(0, values=[0] * 44, datatype=DataType.REGISTERS)],
              [SimData(0, values=[0, 1, 209, 0, 0, 0, 0, 0, 0, 0], datatype=DataType.REGISTERS)])
    server = ModbusSerialServer([SimDevice(id=1, simdata=tables)], port=line.b, baudrate=BAUD)
    await server.serve_forever(background=True)
    try:
        return await client_reads(line.a, seconds)
    finally:
        await server.shutdown()


async def simulator_reads(line: PtyLine, seconds: float, *, line_speed: bool) -> tuple[float, GasSimulator]:
    sim = GasSimulator(load_scenario("h2s_spike"), units=[1, 2], output_units=[10], clock=ScaledClock(1.0),
                       start_date=date.today())
    async with sim:
        await sim.serve(RtuPort(line.b, baudrate=BAUD, line_speed=line_speed))
        if not line_speed:
            return await client_reads(line.a, seconds), sim
        async with ModbusBus(SerialLine(line.a, baudrate=BAUD, timeout_s=1.0), name="bench") as bus:
            return await rate(lambda: bus.read_registers(1, *LIVE_BLOCK), seconds), sim


async def main_async(seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-modbus-") as workdir:
        line = PtyLine(Path(workdir), find_binary("socat"))
        line.replug()
        try:
            raw = await bare_server_reads(line, seconds)
            sim, _ = await simulator_reads(line, seconds, line_speed=False)
            polls, emulated = await simulator_reads(line, seconds, line_speed=True)
        finally:
            line.unplug()
    request, reply = read_request_bytes(), read_reply_bytes(LIVE_BLOCK[0], LIVE_BLOCK[2])
    wire_limit = 1 / transaction_time_s(request, reply, BAUD)
    print(f"modbus benchmark (one process, pty via {line.mode}; live block = {LIVE_BLOCK[2]} input registers)")
    print(f"  raw pymodbus reads/s (bare SimDevice server):  {raw:8,.0f}")
    print(f"  simulator reads/s (scenario engine + hooks):   {sim:8,.0f}   = {sim / raw:.0%} of raw")
    print(f"  wire limit at {BAUD} baud ({request}+{reply} bytes × 11 bits + 2 gaps): {wire_limit:6.1f} polls/s")
    print(f"  polls/s with line-speed emulation (edge bus):  {polls:8.1f}   = {polls / wire_limit:.0%} of the wire "
          f"limit ({emulated.stats.delayed} replies held for their wire time)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=3.0, help="measuring time per figure (default 3)")
    asyncio.run(main_async(ap.parse_args().seconds))


if __name__ == "__main__":
    main()
