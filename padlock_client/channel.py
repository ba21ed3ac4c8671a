"""One open GATT link to a padlock, seen the same way by every backend: send a fragment, receive fragments.

A backend (bumble, bleak) subclasses :class:`GattChannel`: it implements ``send`` (one write to the request
characteristic) and ``close``, and calls ``notified`` from its notification callback and ``link_dropped``
from its disconnection callback. Everything above this — fragmentation, requests, answers — is the session's.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod

from padlock_client.errors import LinkError, LinkLost, LockTimeout
from protocols.padlock.gatt import DEFAULT_ATT_MTU

#: Notifications buffered at most before the link is treated as broken (a well-behaved lock sends one message,
#: at most 4096 bytes = 205 fragments at the default MTU, per request, plus a few events).
MAX_QUEUED_FRAGMENTS = 1024


def link_abort(exc: BaseException) -> bool:
    """True when a CancelledError is the stack aborting an operation because the link dropped (bumble cancels
    pending GATT requests on disconnection), not a cancellation of the calling task."""
    task = asyncio.current_task()
    return isinstance(exc, asyncio.CancelledError) and task is not None and task.cancelling() == 0


def raise_if_cancelling() -> None:
    """Re-raise a cancellation of the current task that a library swallowed (Python 3.11's ``wait_for`` loses one
    that races a result, and bumble uses it): checked between steps, so a stopped visit stops at the next one."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError()


class GattChannel(ABC):
    """A connected, subscribed link. ``mtu`` is the negotiated ATT MTU (fragments carry ``mtu - 3`` bytes)."""

    def __init__(self, mtu: int = DEFAULT_ATT_MTU) -> None:
        self.mtu = mtu
        self._fragments: asyncio.Queue[bytes] = asyncio.Queue(MAX_QUEUED_FRAGMENTS)
        self._lost = asyncio.Event()
        self.lost_reason: str | None = None

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    # -- called by the backend ---------------------------------------------------------------------
    def notified(self, fragment: bytes) -> None:
        """A notification arrived on the response characteristic."""
        if self._lost.is_set():
            return
        try:
            self._fragments.put_nowait(bytes(fragment))
        except asyncio.QueueFull:
            self.link_dropped("the lock flooded the link with notifications")

    def link_dropped(self, reason: str = "disconnected") -> None:
        """The link went down (or must be treated as down)."""
        if not self._lost.is_set():
            self.lost_reason = reason
            self._lost.set()

    # -- used by the session -----------------------------------------------------------------------
    async def receive(self) -> bytes:
        """The next notified fragment; LinkLost once the link dropped (queued fragments first).

        No timeout here: the caller bounds every wait (or use :meth:`next_fragment`).
        """
        if not self._fragments.empty():
            return self._fragments.get_nowait()
        if self._lost.is_set():
            raise self._lost_error()
        get = asyncio.ensure_future(self._fragments.get())
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({get, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (get, lost):
                waiter.cancel()
        if get.done() and not get.cancelled():
            return get.result()
        raise self._lost_error()

    async def next_fragment(self, timeout_s: float) -> bytes:
        """:meth:`receive` within ``timeout_s``, else LockTimeout."""
        try:
            async with asyncio.timeout(timeout_s):
                return await self.receive()
        except TimeoutError:
            raise LockTimeout(f"no answer from the padlock within {timeout_s:g} s") from None

    async def write(self, fragment: bytes) -> None:
        if self._lost.is_set():
            raise self._lost_error()
        try:
            await self.send(fragment)
        except LinkError:
            raise
        except asyncio.CancelledError as exc:
            if not link_abort(exc):
                raise
            self.link_dropped("the link went down during a write")
            raise self._lost_error() from exc
        except Exception as exc:  # the backend's own error type: a write on a dying link
            self.link_dropped(f"write failed: {exc!r}")
            raise self._lost_error() from exc

    def _lost_error(self) -> LinkLost:
        return LinkLost(f"link to the padlock lost ({self.lost_reason})")

    # -- implemented by the backend ----------------------------------------------------------------
    @abstractmethod
    async def send(self, fragment: bytes) -> None:
        """Write one fragment to the request characteristic."""

    @abstractmethod
    async def close(self) -> None:
        """Disconnect (idempotent; must not raise when the link is already gone)."""
