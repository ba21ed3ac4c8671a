"""The same simulator served over Modbus TCP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from edge.drivers.modbus import ModbusBus, TcpEndpoint
from edge.errors import ModbusError
from fwsim.gas import GasSimulator, ManualClock, TcpListen, load_scenario
from protocols.gasprofile import decode_detector, load_profile, read_plan
from tests.fwsim.gas.sim_rig import serving

PROFILE = load_profile("generic-4gas")


@pytest.fixture
async def tcp_sim() -> AsyncIterator[tuple[GasSimulator, ManualClock, ModbusBus]]:
    async with serving(load_scenario("h2s_spike"), TcpListen("127.0.0.1", 0)) as (sim, clock):
        host, port = sim.tcp_address
        bus = ModbusBus(TcpEndpoint(host, port, timeout_s=0.5), name="tcp-test")
        try:
            yield sim, clock, bus
        finally:
            await bus.close()


async def test_reads_scenario_values_over_tcp(tcp_sim: tuple[GasSimulator, ManualClock, ModbusBus]) -> None:
    sim, clock, bus = tcp_sim
    clock.set(90)
    blocks = {b: await bus.read_registers(1, b.function, b.address, b.count) for b in read_plan(PROFILE)}
    reading = decode_detector(PROFILE, blocks).reading("H2S")
    assert reading.value == pytest.approx(22.5, abs=0.35) and reading.alarm2
    await bus.write_coil(10, 1, True)
    assert sim.output_module(10).coils["beacon"]


async def test_absent_unit_gets_a_gateway_exception_over_tcp(tcp_sim: tuple[GasSimulator, ManualClock, ModbusBus]
                                                             ) -> None:
    _sim, _clock, bus = tcp_sim
    with pytest.raises(ModbusError) as err:
        await bus.read_registers(42, 4, 0, 10)
    assert err.value.exception_code == 11  # gateway target device failed to respond


@pytest.mark.parametrize("name", ["comm_loss", "garbled_crc"])
async def test_faults_are_modbus_errors_over_tcp(name: str) -> None:
    async with serving(load_scenario(name), TcpListen("127.0.0.1", 0)) as (sim, clock):
        async with ModbusBus(TcpEndpoint(*sim.tcp_address, timeout_s=0.5), name="tcp-fault") as bus:
            clock.set(30)
            assert len(await bus.read_registers(1, 4, 0, 10)) == 10
            clock.set(90)
            with pytest.raises(ModbusError):
                await bus.read_registers(1, 4, 0, 10)
            assert len(await bus.read_registers(2, 4, 0, 10)) == 10
            clock.set(150)
            assert len(await bus.read_registers(1, 4, 0, 10)) == 10
        assert sim.stats.dropped + sim.stats.garbled == 1
