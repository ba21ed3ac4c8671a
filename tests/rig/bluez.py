"""A BlueZ D-Bus API without Bluetooth hardware: a private dbus-daemon with BlueZoo (the ``bluezoo`` mock) on it.

BlueZoo serves ``org.bluez`` with emulated adapters. One adapter scanning sees another adapter's registered LE
advertisement as a device; connecting to it links the GATT application registered on the other adapter, so
reads, writes and notifications go from the central's client (bleak) through BlueZoo to the peripheral's
D-Bus objects (``tests.rig.bluez_padlock``). No radio, no HCI, no ATT: BlueZoo passes D-Bus calls along.
BlueZoo runs through ``tests/rig/bluezoo_main.py``, which corrects three places where BlueZoo 1.0.2 differs from
BlueZ in ways bleak depends on (manufacturer data type, one report per advertiser, GATT objects kept after a
disconnect); its docstring says what and why.

The bus is a private ``dbus-daemon`` on a unix socket in a temp dir; the test process (bleak, the peripheral)
reaches it through ``DBUS_SYSTEM_BUS_ADDRESS``, which the fixture sets for the test only. Both processes are
stopped in the teardown, and bleak's per-loop BlueZ manager (which keeps a connection and a watcher task) is
dropped first so the leak guard finds nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from fwsim.rig.availability import find_binary
from fwsim.rig.processes import ManagedProcess, ServiceError, read_log_tail
from tests.rig.availability import service_unavailable

CENTRAL_ADAPTER = "hci0"  # bleak's side: the gateway or the phone
PERIPHERAL_ADAPTER = "hci1"  # the padlock's side
ADAPTER_ADDRESSES = ("00:5A:FE:00:00:01", "00:5A:FE:00:00:02")  # hci0, hci1
SCAN_INTERVAL_S = 1  # BlueZoo reports advertising adapters this often while discovering (its default is 10)
START_TIMEOUT_S = 20.0
BLUEZOO_LAUNCHER = Path(__file__).with_name("bluezoo_main.py")  # BlueZoo with manufacturer data typed a{qv}

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def bluez_prerequisites() -> tuple[str, str]:
    """Paths of ``dbus-daemon`` and the ``bluezoo`` command; otherwise skip (or fail under REQUIRE_SERVICES)."""
    daemon = find_binary("dbus-daemon")
    if daemon is None:
        service_unavailable("dbus-daemon not found: install the Debian package `dbus-daemon` (or `dbus`)")
    try:
        import bleak  # noqa: F401  (only checking that the central's library is installed)
    except ImportError as exc:
        service_unavailable(f"bleak is not installed ({exc}): pip install 'safegrid[edge]'")
    if importlib.util.find_spec("bluezoo") is None:  # the mock runs in its own process: only look for it
        service_unavailable("bluezoo (the BlueZ D-Bus mock) is not installed: pip install 'safegrid[test]'")
    return daemon, str(BLUEZOO_LAUNCHER)


class BluezBus:
    """A private D-Bus with BlueZoo serving two powered adapters: ``hci0`` (central) and ``hci1`` (peripheral)."""

    def __init__(self, workdir: Path, daemon: str, bluezoo: str) -> None:
        self.workdir = workdir
        self.socket = workdir / "bus.sock"
        self.address = f"unix:path={self.socket}"
        self._daemon_cmd = daemon
        self._bluezoo_cmd = bluezoo
        self.daemon = ManagedProcess("dbus-daemon", workdir / "dbus-daemon.log")
        self.bluezoo = ManagedProcess("bluezoo", workdir / "bluezoo.log")

    def pids(self) -> set[int]:
        return {pid for pid in (self.daemon.pid, self.bluezoo.pid) if pid is not None}

    async def start(self) -> None:
        config = self.workdir / "bus.conf"
        config.write_text(_BUS_CONFIG.format(socket=self.socket))
        self.daemon.start([self._daemon_cmd, f"--config-file={config}", "--nofork", "--nopidfile"])
        await self._wait(lambda: self.socket.exists(), "the dbus-daemon socket", self.daemon)
        env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": self.address}
        argv = [sys.executable, self._bluezoo_cmd, "--verbose", "--auto-enable", f"--scan-interval={SCAN_INTERVAL_S}"]
        for address in ADAPTER_ADDRESSES:
            argv += ["--adapter", address]
        self.bluezoo.start(argv, env=env)
        await self._wait_for_adapters()

    async def _wait(self, condition: object, what: str, process: ManagedProcess) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not condition():  # type: ignore[operator]
            process.check_alive()
            if time.monotonic() > deadline:
                raise ServiceError(f"timed out waiting for {what}:\n{process.log_tail()}")
            await asyncio.sleep(0.02)

    async def _wait_for_adapters(self) -> None:
        """Until ``org.bluez`` answers with both adapters powered (BlueZoo powers them after exporting)."""
        from dbus_fast import BusType, Message, MessageType
        from dbus_fast.aio import MessageBus

        deadline = time.monotonic() + START_TIMEOUT_S
        while True:  # on a loaded machine the bus socket may exist a moment before the daemon accepts on it
            try:
                bus = await MessageBus(bus_address=self.address, bus_type=BusType.SYSTEM).connect()
                break
            except (ConnectionRefusedError, FileNotFoundError):
                self.bluezoo.check_alive()
                if time.monotonic() > deadline:
                    raise ServiceError(f"the private D-Bus never accepted a connection at {self.address}") from None
                await asyncio.sleep(0.05)
        try:
            while True:
                self.bluezoo.check_alive()
                reply = await bus.call(Message(destination="org.bluez", path="/", member="GetManagedObjects",
                                               interface="org.freedesktop.DBus.ObjectManager"))
                # An error reply (org.bluez not on the bus yet) means: not yet.
                if reply is not None and reply.message_type == MessageType.METHOD_RETURN:
                    powered = [path for path, interfaces in reply.body[0].items()
                               if interfaces.get("org.bluez.Adapter1", {}).get("Powered") is not None
                               and interfaces["org.bluez.Adapter1"]["Powered"].value]
                    if len(powered) == len(ADAPTER_ADDRESSES):
                        return
                if time.monotonic() > deadline:
                    raise ServiceError(f"BlueZoo did not bring up its adapters:\n{self.bluezoo.log_tail()}")
                await asyncio.sleep(0.05)
        finally:
            bus.disconnect()
            await bus.wait_for_disconnect()

    def stop(self) -> None:
        self.bluezoo.stop()
        self.daemon.stop()

    def log_tail(self) -> str:
        return (f"[bluezoo]\n{read_log_tail(self.bluezoo.log_path)}\n"
                f"[dbus-daemon]\n{read_log_tail(self.daemon.log_path)}")


async def drop_bleak_manager() -> None:
    """Disconnect bleak's BlueZ manager of the running loop and wait for its bus watcher task.

    bleak keeps one manager per event loop for the life of the loop (a D-Bus connection and a task watching
    it); it only cleans up managers of loops that have closed, lazily. A test's loop must not end with that
    task pending, so the rig drops the manager itself. These are private bleak details: if bleak renames them
    this fails loudly in the fixture's teardown (or the leak guard names the watcher task), never silently.
    """
    from bleak.backends.bluezdbus import manager as bluez_manager

    manager = bluez_manager._global_instances.pop(asyncio.get_running_loop(), None)
    if manager is None:
        return
    bus = manager._bus
    watcher = manager._bus_watcher_task
    if bus is not None:
        bus.disconnect()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(bus.wait_for_disconnect(), 5.0)
    if watcher is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(watcher, 5.0)


@pytest_asyncio.fixture
async def bluez_bus(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BluezBus]:
    """A private D-Bus with BlueZoo on it (adapters ``hci0`` central, ``hci1`` peripheral), for this test only.

    Register it with ``from tests.rig.bluez import bluez_bus`` in a conftest. ``DBUS_SYSTEM_BUS_ADDRESS``
    points at it during the test; skips (fails under SAFEGRID_REQUIRE_SERVICES=1) without dbus-daemon/bluezoo.
    """
    async with running_bluez_bus(tmp_path_factory.mktemp("bluez")) as bus:
        yield bus


@contextlib.asynccontextmanager
async def running_bluez_bus(workdir: Path) -> AsyncIterator[BluezBus]:
    """Start a private bus with BlueZoo; point ``DBUS_SYSTEM_BUS_ADDRESS`` at it while inside; stop all after."""
    daemon, bluezoo = bluez_prerequisites()
    bus = BluezBus(workdir, daemon, bluezoo)
    previous = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
    try:
        await bus.start()
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = bus.address
        yield bus
    finally:
        try:
            await drop_bleak_manager()
        finally:
            if previous is None:
                os.environ.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
            else:
                os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = previous
            bus.stop()
