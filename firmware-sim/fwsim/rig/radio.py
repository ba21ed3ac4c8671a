"""The BLE radio as bumble virtual controllers: in one process (LocalLink) or across processes (TCP).

``LocalRadio``: every Device made by ``device()`` gets its own virtual controller on one shared
``bumble.link.LocalLink``, so a peripheral and a central in the same event loop can advertise,
scan, connect and do GATT with no hardware.

``TcpRadio``: a subprocess running N virtual controllers on one link, each behind a
``tcp-server`` HCI transport; other processes (simulators, the edge daemon) attach with the
matching ``tcp-client:127.0.0.1:PORT`` spec, one process per controller.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from bumble.controller import Controller
from bumble.device import Device
from bumble.gatt import Service
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport import open_transport
from bumble.transport.common import AsyncPipeSink

from fwsim.rig.processes import ManagedProcess, ServiceError, free_port, is_listening, wait_until

START_TIMEOUT_S = 20.0


def random_static_address() -> Address:
    """A fresh random static device address (the two most significant bits set, Core spec Vol 6 B 1.3.2.1)."""
    raw = bytearray(secrets.token_bytes(6))
    raw[5] |= 0xC0  # bumble stores addresses little-endian: byte 5 is the most significant
    return Address(bytes(raw), Address.RANDOM_DEVICE_ADDRESS)


class LocalRadio:
    """One LocalLink; ``device()`` attaches a new controller to it and returns an unpowered Device."""

    def __init__(self) -> None:
        self.link = LocalLink()
        self.devices: list[Device] = []

    def device(self, name: str, address: Address | None = None, services: Iterable[Service] = ()) -> Device:
        controller = Controller(f"ctl-{name}", link=self.link)
        device = Device(
            name=name,
            address=address or random_static_address(),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        for service in services:
            device.add_service(service)
        self.devices.append(device)
        return device

    async def powered_device(
        self, name: str, address: Address | None = None, services: Iterable[Service] = ()
    ) -> Device:
        device = self.device(name, address, services)
        await device.power_on()
        return device

    async def close(self) -> None:
        """Power off every device made here (drops their connections and advertising)."""
        for device in self.devices:
            if device.powered_on:
                with contextlib.suppress(Exception):  # teardown must reach every device
                    await device.power_off()
        self.devices.clear()


@contextlib.asynccontextmanager
async def attached_device(
    transport_spec: str, name: str, address: Address | None = None, services: Iterable[Service] = ()
) -> AsyncIterator[Device]:
    """A powered-on Device on a remote virtual controller (``tcp-client:HOST:PORT``); closes its transport."""
    transport = await open_transport(transport_spec)
    try:
        device = Device.with_hci(name, address or random_static_address(), transport.source, transport.sink)
        for service in services:
            device.add_service(service)
        await device.power_on()
        try:
            yield device
        finally:
            with contextlib.suppress(Exception):  # a dead link must not mask the test's own error
                await device.power_off()
    finally:
        await transport.close()


class TcpRadio:
    """A ``python -m bumble.apps.controllers`` subprocess with ``count`` linked tcp-server controllers."""

    host = "127.0.0.1"

    def __init__(self, workdir: Path, count: int = 2) -> None:
        if count < 2:
            raise ValueError("a radio needs at least two controllers")
        self.ports = [free_port(self.host) for _ in range(count)]
        self._process = ManagedProcess("bumble-controllers", workdir / "controllers.log")

    @property
    def transports(self) -> list[str]:
        """HCI transport specs a host process opens, one per controller."""
        return [f"tcp-client:{self.host}:{port}" for port in self.ports]

    def start(self) -> None:
        servers = [f"tcp-server:{self.host}:{port}" for port in self.ports]
        # bumble's own app takes exactly two transports; more need the rig's own runner (fwsim.rig.radio_controllers).
        module = "bumble.apps.controllers" if len(servers) == 2 else "fwsim.rig.radio_controllers"
        env = {**os.environ, "BUMBLE_LOGLEVEL": os.environ.get("BUMBLE_LOGLEVEL", "INFO")}
        self._process.start([sys.executable, "-m", module, *servers], env=env)
        try:
            # Checked in /proc rather than by connecting: each tcp-server takes its latest connection
            # as THE host, so a probe connection could race with the real one.
            wait_until(
                lambda: self._process.pid is not None
                and all(is_listening(self.host, port, self._process.pid) for port in self.ports),
                START_TIMEOUT_S,
                "bumble controllers listening",
                on_poll=self._process.check_alive,
            )
        except TimeoutError as exc:
            self._process.stop()
            raise ServiceError(f"{exc}\n{self.log_tail()}") from exc

    def stop(self) -> None:
        self._process.stop()

    def pids(self) -> set[int]:
        pid = self._process.pid
        return {pid} if pid is not None else set()

    def log_tail(self, lines: int = 60) -> str:
        return self._process.log_tail(lines)

    def __repr__(self) -> str:
        return f"TcpRadio({self.transports})"
