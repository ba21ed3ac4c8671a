"""The bleak backend of the gateway's padlock link: real Bluetooth adapters (BlueZ on the gateway).

The radio itself is the shared padlock client's (:mod:`padlock_client.bleak_backend`: scanning by lock id,
connecting, the MTU BlueZ agreed, notifications); fragmenting, requests, chain verification and timeouts are
the shared code in ``session`` and ``link``, which the bumble backend exercises over the virtual radio.
"""

from __future__ import annotations

from typing import Any

from edge.drivers.ble.errors import PadlockLinkError
from edge.drivers.ble.link import PadlockLink
from padlock_client.bleak_backend import bluez_options, open_channel, scan
from padlock_client.channel import GattChannel
from protocols.padlock.advertising import LockAdvert


class BleakPadlockLink(PadlockLink):
    """A padlock over bleak; ``adapter`` picks the BlueZ adapter (e.g. ``hci1``), default the system's."""

    def __init__(self, *, adapter: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self._bluez: Any = bluez_options(adapter)

    async def _scan_advert(self, timeout_s: float) -> LockAdvert | None:
        hit = await scan(self.lock_id, timeout_s, bluez=self._bluez)
        return hit[1] if hit else None

    async def _open_channel(self) -> GattChannel:
        hit = await scan(self.lock_id, self.scan_timeout_s, bluez=self._bluez)
        if hit is None:
            raise PadlockLinkError(f"lock {self.lock_id.hex()} not heard advertising", code="not_found")
        return await open_channel(hit[0], bluez=self._bluez, timeout_s=self.connect_timeout_s, with_response=True)

    async def close(self) -> None:
        """Nothing to release: bleak's scanner and client live only for one scan or visit."""
