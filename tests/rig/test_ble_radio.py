"""The rig's virtual BLE radio: devices connect and do GATT in one process and across processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest
from bumble.device import Device, Peer
from bumble.gatt import Characteristic, Service
from bumble.hci import Address

from fwsim.rig.radio import LocalRadio, TcpRadio, attached_device
from tests.rig import REPO_ROOT

SERVICE_UUID = "5a6e0001-7d3b-4d3e-9a54-0f1c2b3a4d5e"
CHAR_UUID = "5a6e0002-7d3b-4d3e-9a54-0f1c2b3a4d5e"
STEP_TIMEOUT_S = 20.0
FAST_ADVERTISING_MS = 20.0  # bumble defaults to 1 s; a central connects on the next advertisement


def info_service(value: bytes) -> Service:
    return Service(
        SERVICE_UUID,
        [Characteristic(CHAR_UUID, Characteristic.Properties.READ, Characteristic.READABLE, value)],
    )


async def read_remote_value(central: Device, peripheral_address: object) -> bytes:
    connection = await central.connect(peripheral_address)
    try:
        peer = Peer(connection)
        await peer.discover_services([SERVICE_UUID])
        await peer.discover_characteristics([CHAR_UUID])
        (characteristic,) = peer.get_characteristics_by_uuid(CHAR_UUID)
        return bytes(await characteristic.read_value())
    finally:
        await connection.disconnect()


async def test_two_devices_on_the_local_link_connect_and_read_gatt(ble_radio: LocalRadio) -> None:
    padlock = await ble_radio.powered_device("padlock", services=[info_service(b"lock-0001")])
    gateway = await ble_radio.powered_device("gateway")
    assert padlock.random_address != gateway.random_address
    assert bytes(padlock.random_address)[5] & 0xC0 == 0xC0  # random static address
    await padlock.start_advertising(advertising_interval_min=FAST_ADVERTISING_MS)
    value = await asyncio.wait_for(read_remote_value(gateway, padlock.random_address), STEP_TIMEOUT_S)
    assert value == b"lock-0001"


async def test_tcp_radio_links_two_devices_of_this_process(ble_radio_tcp: TcpRadio) -> None:
    assert len(ble_radio_tcp.transports) == 2
    peripheral_spec, central_spec = ble_radio_tcp.transports
    async with (
        attached_device(peripheral_spec, "padlock", services=[info_service(b"over-tcp")]) as padlock,
        attached_device(central_spec, "gateway") as gateway,
    ):
        await padlock.start_advertising(advertising_interval_min=FAST_ADVERTISING_MS)
        value = await asyncio.wait_for(read_remote_value(gateway, padlock.random_address), STEP_TIMEOUT_S)
    assert value == b"over-tcp"


# A peripheral in another process, as the simulators will be: prints its address, serves until stdin closes.
PERIPHERAL_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from fwsim.rig.radio import attached_device
    from tests.rig.test_ble_radio import info_service

    async def main() -> None:
        async with attached_device(sys.argv[1], "padlock", services=[info_service(b"other-process")]) as device:
            await device.start_advertising(auto_restart=True, advertising_interval_min=20.0)
            print(device.random_address.to_string(with_type_qualifier=False), flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("ble_radio_tcp", [3], indirect=True)
async def test_tcp_radio_with_three_controllers_serves_a_peripheral_in_another_process(
    ble_radio_tcp: TcpRadio,
) -> None:
    assert len(ble_radio_tcp.transports) == 3
    peripheral = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PERIPHERAL_SCRIPT, ble_radio_tcp.transports[0],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO_ROOT,
    )
    try:
        assert peripheral.stdout is not None
        address_line = await asyncio.wait_for(peripheral.stdout.readline(), STEP_TIMEOUT_S)
        address = address_line.decode().strip()
        assert address, "peripheral process printed no address"
        # The third controller is spare: a central on it must still see the same link.
        async with attached_device(ble_radio_tcp.transports[2], "phone") as phone:
            target = Address(address, Address.RANDOM_DEVICE_ADDRESS)
            value = await asyncio.wait_for(read_remote_value(phone, target), STEP_TIMEOUT_S)
        assert value == b"other-process"
    finally:
        if peripheral.stdin is not None:
            peripheral.stdin.close()
        try:
            await asyncio.wait_for(peripheral.wait(), 10)
        except TimeoutError:
            peripheral.kill()
            await peripheral.wait()
