"""The BlueZ D-Bus mock of the rig: a private dbus-daemon with BlueZoo, skipped or failed when missing."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.rig import bluez
from tests.rig.availability import REQUIRE_SERVICES_ENV
from tests.rig.leaks import child_pids


@pytest_asyncio.fixture
async def bus(tmp_path: Path) -> AsyncIterator[bluez.BluezBus]:
    async with bluez.running_bluez_bus(tmp_path) as running:
        yield running


@pytest.mark.parametrize(("required", "outcome"), [("", pytest.skip.Exception), ("1", pytest.fail.Exception)])
def test_a_missing_dbus_daemon_skips_or_fails_when_services_are_required(
        monkeypatch: pytest.MonkeyPatch, required: str, outcome: type[BaseException]) -> None:
    monkeypatch.setenv(REQUIRE_SERVICES_ENV, required)
    monkeypatch.setattr(bluez, "find_binary", lambda name: None)
    with pytest.raises(outcome, match="dbus-daemon not found: install the Debian package `dbus-daemon`"):
        bluez.bluez_prerequisites()


def test_a_missing_bluezoo_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_SERVICES_ENV, raising=False)
    monkeypatch.setattr(bluez, "find_binary", lambda name: "/usr/bin/dbus-daemon")
    monkeypatch.setattr(bluez.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(pytest.skip.Exception, match=r"bluezoo .* pip install 'safegrid\[test\]'"):
        bluez.bluez_prerequisites()


async def test_the_bus_serves_two_powered_adapters_and_points_the_system_bus_at_itself(
        bus: bluez.BluezBus) -> None:
    from dbus_fast import BusType, Message, MessageType
    from dbus_fast.aio import MessageBus

    assert os.environ["DBUS_SYSTEM_BUS_ADDRESS"] == bus.address
    client = await MessageBus(bus_type=BusType.SYSTEM).connect()
    try:
        reply = await client.call(Message(destination="org.bluez", path="/", member="GetManagedObjects",
                                          interface="org.freedesktop.DBus.ObjectManager"))
    finally:
        client.disconnect()
        await client.wait_for_disconnect()
    assert reply is not None and reply.message_type == MessageType.METHOD_RETURN
    adapters = {path: interfaces["org.bluez.Adapter1"] for path, interfaces in reply.body[0].items()
                if "org.bluez.Adapter1" in interfaces}
    assert {path: (props["Address"].value, props["Powered"].value) for path, props in adapters.items()} == {
        f"/org/bluez/{bluez.CENTRAL_ADAPTER}": (bluez.ADAPTER_ADDRESSES[0], True),
        f"/org/bluez/{bluez.PERIPHERAL_ADAPTER}": (bluez.ADAPTER_ADDRESSES[1], True)}
    # BlueZoo runs with the rig's corrections to it applied.
    assert "ManufacturerData typed a{qv} on ['DeviceInterface', 'Device', 'LEAdvertisementInterface']" in (
        bus.log_tail())


async def test_stopping_the_bus_leaves_no_process_and_restores_the_environment(tmp_path: Path) -> None:
    before = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
    async with bluez.running_bluez_bus(tmp_path) as running:
        pids = running.pids()
        assert len(pids) == 2
    assert os.environ.get("DBUS_SYSTEM_BUS_ADDRESS") == before
    assert running.pids() == set()
    assert not pids & child_pids()  # stopped and reaped: not even zombies
