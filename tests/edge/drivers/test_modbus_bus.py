"""ModbusBus against a real pymodbus RTU server over a real pty pair: serialised reads, errors, port loss."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import DataType, SimData, SimDevice

from edge.drivers.modbus import ModbusBus, SerialLine, frame_gap_s
from edge.errors import ModbusError


def test_frame_gap_follows_the_serial_line_spec() -> None:
    assert frame_gap_s(9600) == pytest.approx(0.00401, abs=1e-5)  # 3.5 × 11 bits / 9600 baud
    assert frame_gap_s(115200) == 0.00175


async def start_server(port: str) -> ModbusSerialServer:
    """A server that has its end of the line open: ``serve_forever(background=True)`` returns once it listens
    (and raises if it cannot), so no guessed sleep stands in for readiness."""
    devices = [SimDevice(id=unit, simdata=[SimData(0, values=[unit * 100 + k for k in range(20)],
                                                   datatype=DataType.REGISTERS)]) for unit in (1, 2)]
    server = ModbusSerialServer(devices, port=port, baudrate=9600)
    await server.serve_forever(background=True)
    assert server.is_active()
    return server


async def stop_server(server: ModbusSerialServer) -> None:
    await server.shutdown()


@pytest.fixture
async def served(serial_pty) -> AsyncIterator[tuple[object, ModbusBus]]:
    server = await start_server(serial_pty.b)
    bus = ModbusBus(SerialLine(serial_pty.a, timeout_s=0.3), name="bus-test")
    try:
        yield serial_pty, bus
    finally:
        await bus.close()
        await stop_server(server)


async def test_concurrent_reads_of_two_units_are_serialised_and_correct(served) -> None:
    _line, bus = served
    results = await asyncio.gather(*(bus.read_registers(1 + i % 2, 3, 2, 3) for i in range(10)))
    assert results == [[102, 103, 104], [202, 203, 204]] * 5
    assert bus.transactions == 10


async def test_exception_response_carries_its_code(served) -> None:
    _line, bus = served
    with pytest.raises(ModbusError) as err:
        await bus.read_registers(1, 3, 500, 2)
    assert err.value.code == "exception"
    assert err.value.exception_code == 2  # illegal data address
    with pytest.raises(ValueError):
        await bus.read_registers(1, 6, 0, 1)


async def test_port_lost_then_back_resumes(served) -> None:
    line, bus = served
    assert await bus.read_registers(1, 4, 0, 1) == [100]
    line.unplug()
    with pytest.raises(ModbusError) as err:
        await bus.read_registers(1, 4, 0, 1)
    assert err.value.code in {"port_lost", "timeout"}
    with pytest.raises(ModbusError) as err:
        await bus.read_registers(1, 4, 0, 1)
    assert err.value.code == "port_lost"
    line.replug()
    server = await start_server(line.b)  # the far end comes back on the new line too
    try:
        for _ in range(20):
            try:
                assert await bus.read_registers(2, 4, 0, 1) == [200]
                break
            except ModbusError:
                await asyncio.sleep(0.1)
        else:
            pytest.fail("polling did not resume after the port came back")
        assert bus.reopens >= 1
    finally:
        await stop_server(server)
