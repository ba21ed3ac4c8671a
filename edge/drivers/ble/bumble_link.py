"""The bumble backend of the gateway's padlock link (the virtual radio, or any bumble HCI transport).

The radio itself is the shared padlock client's (:mod:`padlock_client.bumble_backend`): a
:class:`BumbleCentral` owns one bumble ``Device``, scans passively all the time and serialises connections.
Several :class:`BumblePadlockLink` share one central; a link made with ``hci=`` opens and owns its own. What is
the gateway's here: when a sighting is fresh enough to connect on, and a held lock counting as busy.
"""

from __future__ import annotations

import time
from typing import Any

from edge.drivers.ble.errors import PadlockLinkError
from edge.drivers.ble.link import PadlockLink
from padlock_client.bumble_backend import BumbleCentral, open_channel
from padlock_client.channel import GattChannel
from protocols.padlock.advertising import LockAdvert
from protocols.padlock.gatt import PREFERRED_ATT_MTU

__all__ = ["SIGHTING_FRESH_S", "BumbleCentral", "BumblePadlockLink"]

#: An advert older than this no longer says the lock is there (a held lock stops advertising).
SIGHTING_FRESH_S = 3.0


class BumblePadlockLink(PadlockLink):
    """A padlock reached through a :class:`BumbleCentral` (shared: ``central=``; owned: ``hci=``)."""

    def __init__(self, *, central: BumbleCentral | None = None, hci: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        if (central is None) == (hci is None):
            raise ValueError("the bumble backend needs exactly one of central= and hci=")
        self.central = central or BumbleCentral(hci=hci)
        self._owns_central = central is None

    async def _ensure_started(self) -> None:
        if self._owns_central:
            await self.central.start()

    async def _scan_advert(self, timeout_s: float) -> LockAdvert | None:
        await self._ensure_started()
        sighting = await self.central.next_sighting(self.lock_id, timeout_s)
        return sighting.advert if sighting else None

    async def _open_channel(self) -> GattChannel:
        await self._ensure_started()
        sighting = self.central.latest(self.lock_id)
        if sighting is None or time.monotonic() - sighting.seen_at > SIGHTING_FRESH_S:
            # A lock held by a phone stops advertising: wait (briefly) to hear it free again.
            sighting = await self.central.next_sighting(self.lock_id, self.scan_timeout_s)
        if sighting is None:
            raise PadlockLinkError(f"lock {self.lock_id.hex()} not heard advertising", code="not_found")
        if not sighting.connectable:
            raise PadlockLinkError(f"lock {self.lock_id.hex()} advertises as not connectable (held)", code="busy")
        # Bumble's own connect timeout fires first, so it withdraws the request cleanly before ours.
        connection = await self.central.connect(sighting.address, self.connect_timeout_s * 0.6)
        # With response: the lock acknowledges each fragment, so a dead link shows at once, not at the timeout.
        return await open_channel(connection, mtu=PREFERRED_ATT_MTU, with_response=True)

    async def close(self) -> None:
        if self._owns_central:
            await self.central.close()
