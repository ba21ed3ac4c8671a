"""The phone's BLE backend on bleak: real Bluetooth hardware (BlueZ on Linux, also macOS and Windows).

Deliberately thin: scanning by lock id, connecting, the MTU BlueZ agreed and notifications are the shared
padlock client's (:mod:`padlock_client.bleak_backend`), which the gateway runs too. bleak is imported when a
central is made, so the rest of the phone client runs without it.
"""

from __future__ import annotations

from typing import Any

from fwsim.phone.errors import LockNotFound
from fwsim.phone.link import FoundLock, LockLink


class BleakCentral:
    def __init__(self, adapter: str | None = None) -> None:
        from padlock_client import bleak_backend  # imports bleak: the edge/sim extras install it

        self._backend: Any = bleak_backend
        self._bluez: Any = bleak_backend.bluez_options(adapter)

    async def find(self, lock_id: bytes, timeout_s: float) -> FoundLock:
        hit = await self._backend.scan(lock_id, timeout_s, bluez=self._bluez)
        if hit is None:
            raise LockNotFound(f"no padlock {lock_id.hex()} heard within {timeout_s:g} s")
        return FoundLock(*hit)

    async def connect(self, found: FoundLock, *, mtu: int) -> LockLink:
        """Connect; ``mtu`` is not asked for (BlueZ negotiates it): the link reports what was agreed."""
        channel: LockLink = await self._backend.open_channel(found.address, bluez=self._bluez, with_response=False)
        return channel
