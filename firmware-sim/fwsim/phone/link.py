"""The phone's radio seam: a :class:`Central` finds a padlock by its lock id and connects to it.

A connected padlock is a :class:`~padlock_client.GattChannel` of the shared padlock client (``LockLink`` here):
write fragments, receive notified fragments, close. Backends: :mod:`.bumble_central`, :mod:`.bleak_central`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from padlock_client.channel import GattChannel
from protocols.padlock.advertising import LockAdvert

LockLink = GattChannel  # the phone's name for one connected padlock


@dataclass(frozen=True, slots=True)
class FoundLock:
    """A padlock heard advertising: where to connect (backend-specific) and what it advertised."""

    address: Any
    advert: LockAdvert


class Central(Protocol):
    """A BLE central backend: find a padlock by its lock id (LockNotFound), connect to it (LinkLost)."""

    async def find(self, lock_id: bytes, timeout_s: float) -> FoundLock: ...

    async def connect(self, found: FoundLock, *, mtu: int) -> LockLink: ...
