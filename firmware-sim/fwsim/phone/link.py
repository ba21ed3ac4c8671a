"""The phone's view of one connected padlock: write fragments, receive notified fragments, close.

Backends (bumble, bleak) implement :class:`LockLink`; both feed notifications and the disconnection
into a :class:`NotificationQueue`, so a link drop wakes a waiting reader at once with :class:`LinkLost`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from fwsim.phone.errors import LinkLost, LockTimeout
from protocols.errors import GattError
from protocols.padlock.advertising import LockAdvert, decode_advertising, decode_manufacturer_data


class LockLink(Protocol):
    @property
    def mtu(self) -> int:
        """The negotiated ATT MTU (fragments carry at most ``mtu - 3`` bytes)."""
        ...

    async def write(self, fragment: bytes) -> None: ...

    async def next_fragment(self, timeout_s: float) -> bytes: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class FoundLock:
    """A padlock heard advertising: where to connect (backend-specific) and what it advertised."""

    address: Any
    advert: LockAdvert


class Central(Protocol):
    """A BLE central backend: find a padlock by its lock id, connect to it."""

    async def find(self, lock_id: bytes, timeout_s: float) -> FoundLock: ...

    async def connect(self, found: FoundLock, *, mtu: int) -> LockLink: ...


class NotificationQueue:
    """Notified fragments in arrival order; after the link drops, readers get LinkLost."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.lost = False

    def put(self, fragment: bytes) -> None:
        self._queue.put_nowait(bytes(fragment))

    def link_lost(self) -> None:
        self.lost = True
        self._queue.put_nowait(None)

    async def get(self, timeout_s: float) -> bytes:
        if self.lost and self._queue.empty():
            raise LinkLost("the link to the padlock dropped")
        try:
            item = await asyncio.wait_for(self._queue.get(), timeout_s)
        except TimeoutError:
            raise LockTimeout(f"no answer from the padlock within {timeout_s:g} s") from None
        if item is None:
            raise LinkLost("the link to the padlock dropped")
        return item


def advert_for(lock_id: bytes, *, payload: bytes | None = None, manufacturer_data: bytes | None = None
               ) -> LockAdvert | None:
    """The lock's advert when ``payload`` (a whole AD payload) or ``manufacturer_data`` (after the company id)
    is a SafeGrid advert of ``lock_id``; None for anything else."""
    try:
        if payload is not None:
            advert = decode_advertising(payload)
        elif manufacturer_data is not None:
            advert = decode_manufacturer_data(manufacturer_data)
        else:
            return None
    except GattError:
        return None
    return advert if advert.lock_id == lock_id else None
