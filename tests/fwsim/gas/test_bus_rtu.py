"""The simulator over a real serial line (pty pair): the edge's ModbusBus and pymodbus clients read what each
scenario file says, at scenario times the test sets; faults arrive as Modbus errors; the output module works."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymodbus.client import AsyncModbusSerialClient

from edge.drivers.modbus import ModbusBus, SerialLine
from edge.errors import ModbusError
from fwsim.gas import check_mismatches, load_scenario, packaged_scenarios
from protocols.gasprofile import DetectorSnapshot, decode_detector, decode_identification, load_profile, read_plan
from tests.fwsim.gas.sim_rig import drain

PROFILE = load_profile("generic-4gas")
OUTPUTS = load_profile("output-module")
TIMEOUT_S = 0.5  # the slow_replies scenario's "no reply" check is for a master waiting this long


async def poll(bus: ModbusBus, unit: int) -> DetectorSnapshot:
    blocks = {b: await bus.read_registers(unit, b.function, b.address, b.count) for b in read_plan(PROFILE)}
    return decode_detector(PROFILE, blocks)


@pytest.fixture
async def edge_bus(serial_pty: Any) -> AsyncIterator[ModbusBus]:
    bus = ModbusBus(SerialLine(serial_pty.a, baudrate=9600, timeout_s=TIMEOUT_S), name="test-bus")
    yield bus
    await bus.close()


@pytest.fixture
async def client(serial_pty: Any) -> AsyncIterator[AsyncModbusSerialClient]:
    c = AsyncModbusSerialClient(serial_pty.a, baudrate=9600, timeout=TIMEOUT_S, retries=0, reconnect_delay=0)
    assert await c.connect()
    yield c
    c.close()


@pytest.mark.parametrize("name", packaged_scenarios())
async def test_client_reads_what_the_scenario_file_says(name: str, rtu: Any, edge_bus: ModbusBus) -> None:
    scenario = load_scenario(name)
    units = tuple(sorted({1, 2} | {c.unit for c in scenario.checks}))
    problems: list[str] = []
    async with rtu(scenario, units=units) as (sim, clock):
        for check in scenario.checks_in_order():
            clock.set(check.at_s)
            try:
                snapshot: DetectorSnapshot | None = await poll(edge_bus, check.unit)
            except ModbusError as exc:
                assert exc.code == "timeout", exc  # no reply and a bad CRC look the same to a master: silence
                snapshot = None
                await drain(sim)
            problems += check_mismatches(check, snapshot)
    assert problems == []


async def test_faults_are_counted_where_they_happen(rtu: Any, edge_bus: ModbusBus) -> None:
    async with rtu(load_scenario("garbled_crc")) as (sim, clock):
        clock.set(90)
        with pytest.raises(ModbusError):
            await edge_bus.read_registers(1, 4, 0, 10)
        assert sim.stats.garbled == 1
        assert len(await edge_bus.read_registers(2, 4, 0, 10)) == 10  # the neighbour is fine
    async with rtu(load_scenario("comm_loss")) as (sim, clock):
        clock.set(90)
        with pytest.raises(ModbusError):
            await edge_bus.read_registers(1, 4, 0, 10)
        assert sim.stats.dropped == 1


async def test_values_follow_the_clock_while_serving(rtu: Any, edge_bus: ModbusBus) -> None:
    async with rtu(load_scenario("h2s_spike")) as (_sim, clock):
        seen = []
        for t in (30, 61, 70, 90, 120, 239):
            clock.set(t)
            seen.append((await poll(edge_bus, 1)).reading("H2S").value)
        assert seen == sorted(seen) and seen[0] == 0.0 and seen[-1] == pytest.approx(25.0, abs=0.35)
        assert (await poll(edge_bus, 1)).heartbeat == 239


async def test_identification_by_function_43_14_per_unit(rtu: Any, client: AsyncModbusSerialClient) -> None:
    async with rtu(load_scenario("clean_air")):
        serials = {}
        for unit in (1, 2):
            rsp = await client.read_device_information(read_code=3, device_id=unit)
            assert not rsp.isError()
            identity = decode_identification(PROFILE, rsp.information)
            assert (identity.vendor, identity.model, identity.firmware) == ("SafeGrid Sim", "GD4-SIM", "1.0.0")
            serials[unit] = identity.serial
        assert serials == {1: "SGSIM-001", 2: "SGSIM-002"}
        basic = await client.read_device_information(read_code=1, device_id=1)
        assert set(basic.information) == {0, 1, 2}
        one = await client.read_device_information(read_code=4, object_id=0x80, device_id=10)
        assert one.information == {0x80: b"SGSIM-010"}
        missing = await client.read_device_information(read_code=4, object_id=0x05, device_id=1)
        assert missing.isError() and missing.exception_code == 2


async def test_output_module_coils_ack_button_and_detector_refusals(rtu: Any, edge_bus: ModbusBus) -> None:
    async with rtu(load_scenario("clean_air")) as (sim, _clock):
        module = sim.output_module(10)
        assert await edge_bus.read_bits(10, 1, 0, 4) == [False] * 4
        await edge_bus.write_coil(10, 0, True)
        await edge_bus.write_coil(10, 2, True)
        assert module.coils == {"siren": True, "beacon": False, "fan_1": True, "fan_2": False}
        assert await edge_bus.read_bits(10, 1, 0, 4) == [True, False, True, False]
        await edge_bus.write_coil(10, 0, False)
        assert not module.coils["siren"]

        assert await edge_bus.read_bits(10, 2, 0, 2) == [False, False]
        module.press("ack")
        assert await edge_bus.read_bits(10, 2, 0, 2) == [True, False]
        module.release("ack")
        assert await edge_bus.read_bits(10, 2, 0, 2) == [False, False]

        with pytest.raises(ModbusError) as err:
            await edge_bus.write_coil(10, 9, True)  # no such coil
        assert err.value.exception_code == 2
        with pytest.raises(ModbusError) as err:
            await edge_bus.write_coil(1, 0, True)  # a detector has no coils
        assert err.value.exception_code == 1
        with pytest.raises(ModbusError) as err:
            await edge_bus.read_registers(1, 4, 10, 1)  # past the live block
        assert err.value.exception_code == 2


async def test_output_module_watchdog_over_the_bus(rtu: Any, client: AsyncModbusSerialClient) -> None:
    async with rtu(load_scenario("clean_air")) as (sim, clock):
        assert not (await client.write_register(0, 1, device_id=10)).isError()
        clock.set(9)
        assert not (await client.write_register(0, 2, device_id=10)).isError()
        clock.set(18.9)
        assert (await client.read_coils(0, count=4, device_id=10)).bits[:4] == [False] * 4
        clock.set(19)
        assert (await client.read_coils(0, count=4, device_id=10)).bits[:4] == [True, True, False, False]
        assert sim.output_module(10).watchdog_expiries == 1
        assert (await client.read_input_registers(0, count=1, device_id=10)).registers == [19]  # heartbeat
        assert (await client.read_holding_registers(0, count=1, device_id=10)).registers == [2]


async def test_nobody_answers_for_an_absent_unit(rtu: Any, edge_bus: ModbusBus) -> None:
    async with rtu(load_scenario("clean_air")) as (sim, _clock):
        with pytest.raises(ModbusError) as err:
            await edge_bus.read_registers(99, 4, 0, 10)
        assert err.value.code == "timeout"
        assert sim.stats.dropped == 1


async def test_line_speed_emulation_holds_replies_and_keeps_them_right(rtu: Any, edge_bus: ModbusBus) -> None:
    async with rtu(load_scenario("h2s_spike"), line_speed=True) as (sim, clock):
        clock.set(230)
        snapshot = await poll(edge_bus, 1)
        assert snapshot.reading("H2S").value == pytest.approx(25.0, abs=0.35)
        assert sim.stats.delayed == 2 and sim.stats.replies == 2
        assert await edge_bus.read_bits(10, 1, 0, 4) == [False] * 4
