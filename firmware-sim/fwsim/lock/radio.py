"""A virtual BLE radio for simulators in separate processes: linked bumble controllers on loopback TCP.

Each controller listens as a ``tcp-server`` HCI transport; one process (a padlock, a phone, the edge
daemon) attaches to each with the matching ``tcp-client:HOST:PORT`` spec. All controllers share one
``bumble.link.LocalLink``, so they hear each other's advertising and connect as if on air.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
from collections.abc import AsyncIterator, Sequence

from bumble.controller import Controller
from bumble.device import Device
from bumble.hci import Address
from bumble.link import LocalLink
from bumble.transport import open_transport
from bumble.transport.common import Transport


def pick_free_ports(host: str, count: int) -> list[int]:
    """Ports the OS says are free now (bound together so they differ; another process could still take one)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in sockets:
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in sockets]


def client_specs(host: str, ports: Sequence[int]) -> list[str]:
    """The transport specs a process attaches with, one per controller."""
    return [f"tcp-client:{host}:{port}" for port in ports]


class VirtualRadio:
    """``async with VirtualRadio(host, ports):`` — controllers serve until the block ends."""

    def __init__(self, host: str, ports: Sequence[int]) -> None:
        if len(ports) < 2:
            raise ValueError("a radio needs at least two controllers")
        self.host = host
        self.ports = list(ports)
        self._transports: list[Transport] = []
        self._controllers: list[Controller] = []  # the link holds controllers weakly: keep them here

    @property
    def specs(self) -> list[str]:
        return client_specs(self.host, self.ports)

    async def __aenter__(self) -> VirtualRadio:
        link = LocalLink()
        try:
            for index, port in enumerate(self.ports):
                transport = await open_transport(f"tcp-server:{self.host}:{port}")
                self._transports.append(transport)
                self._controllers.append(Controller(f"radio-{index}", host_source=transport.source,
                                                    host_sink=transport.sink, link=link))
        except BaseException:
            await self._close()
            raise
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._close()

    async def _close(self) -> None:
        for transport in self._transports:
            with contextlib.suppress(Exception):  # close every one even if one fails
                await transport.close()
        self._transports.clear()
        self._controllers.clear()


async def serve_until(stop: asyncio.Event, host: str, ports: Sequence[int]) -> None:
    async with VirtualRadio(host, ports):
        await stop.wait()


def random_static_address() -> Address:
    """A fresh random static address: nothing about a lock or a phone can be derived from it."""
    raw = bytearray(secrets.token_bytes(6))
    raw[5] |= 0xC0  # random static: the two top bits set (bumble keeps addresses little-endian)
    return Address(bytes(raw), Address.RANDOM_DEVICE_ADDRESS)


@contextlib.asynccontextmanager
async def hci_device(spec: str, name: str) -> AsyncIterator[Device]:
    """A bumble Device (not yet powered) on the HCI transport ``spec``; powered off and closed on exit."""
    transport = await open_transport(spec)
    try:
        device = Device.with_hci(name, random_static_address(), transport.source, transport.sink)
        try:
            yield device
        finally:
            if device.powered_on:
                with contextlib.suppress(Exception):  # the radio may be gone already
                    await device.power_off()
    finally:
        await transport.close()
