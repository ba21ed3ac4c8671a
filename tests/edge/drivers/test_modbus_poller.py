"""DevicePoller on a real pty bus: decoded cycles, comm-fault after N failures, one log line per transition."""

from __future__ import annotations

import asyncio

import structlog

from edge.drivers.modbus import ModbusBus, SerialLine
from edge.drivers.modbus.poller import Blocks, DevicePoller, PollPolicy, PollResult
from protocols.gasprofile import ReadBlock
from tests.edge.drivers.test_modbus_bus import start_server, stop_server

PLAN = (ReadBlock(3, 0, 2), ReadBlock(4, 5, 1))


def decode(blocks: Blocks) -> tuple[int, ...]:
    return (*blocks[PLAN[0]], *blocks[PLAN[1]])


async def test_poller_health_transitions_are_reported_once(serial_pty) -> None:
    server = await start_server(serial_pty.b)
    bus = ModbusBus(SerialLine(serial_pty.a, timeout_s=0.2), name="bus-poll")
    results: list[PollResult[tuple[int, ...]]] = []
    poller = DevicePoller("det-1", bus, 1, PLAN, decode, results.append,
                          policy=PollPolicy(interval_s=0.05, retries=0, fail_after=2))
    try:
        with structlog.testing.capture_logs() as logs:
            ok = await poller.poll_once()
            assert ok.value == (100, 101, 105) and not ok.comm_fault
            await stop_server(server)  # the device goes silent
            outcomes = [await poller.poll_once() for _ in range(4)]
            assert [r.comm_fault for r in outcomes] == [False, True, True, True]
            assert all(r.value is None and r.error is not None for r in outcomes)
            assert poller.next_delay() > poller.policy.interval_s  # backing off while in comm-fault
            server = await start_server(serial_pty.b)
            back = await poller.poll_once()
            assert back.value == (100, 101, 105) and not back.comm_fault
        events = [entry["event"] for entry in logs]
        assert events == ["device poll failed", "device in comm-fault", "device recovered"]
        assert results == [ok, *outcomes, back]
    finally:
        await bus.close()
        await stop_server(server)


async def test_poller_task_runs_on_its_interval_and_stops(serial_pty) -> None:
    server = await start_server(serial_pty.b)
    bus = ModbusBus(SerialLine(serial_pty.a, timeout_s=0.2), name="bus-run")
    seen = asyncio.Event()
    results: list[PollResult[tuple[int, ...]]] = []

    def collect(result: PollResult[tuple[int, ...]]) -> None:
        results.append(result)
        if len(results) >= 3:
            seen.set()

    poller = DevicePoller("det-2", bus, 2, PLAN, decode, collect, policy=PollPolicy(interval_s=0.02))
    try:
        poller.start()
        await asyncio.wait_for(seen.wait(), timeout=10)
        await poller.stop()
        assert all(r.value == (200, 201, 205) for r in results)
        count = len(results)
        await asyncio.sleep(0.1)
        assert len(results) == count  # stopped means stopped
    finally:
        await poller.stop()
        await bus.close()
        await stop_server(server)
