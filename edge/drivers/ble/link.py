"""The gateway's link to one padlock: one facade, the radio backend (bumble or bleak) chosen by configuration.

Every operation is one brief visit — connect, do it, disconnect — bounded by ``GATEWAY_MAX_HOLD_S`` so a
phone is never kept waiting; ``visit()`` gives a connected :class:`PadlockSession` to do several things in
one connection (the watcher's visit: info, audit fetch, due pushes). Backends implement only scanning and
opening a :class:`~padlock_client.GattChannel` with the shared radio backends (``padlock_client``); all protocol
logic lives in ``session``. The padlock client's errors leave this module as :class:`PadlockLinkError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.drivers.ble.chain import ChainCursor
from edge.drivers.ble.errors import PadlockLinkError, link_errors
from edge.drivers.ble.session import DEFAULT_RESPONSE_TIMEOUT_S, FetchProgress, PadlockSession, push_kind
from edge.drivers.ble.timeset import TimeSetSigner
from padlock_client.channel import GattChannel, raise_if_cancelling
from protocols import crypto
from protocols.errors import ProtocolError
from protocols.padlock.advertising import LockAdvert
from protocols.padlock.audit import GENESIS_HASH, AuditEntry
from protocols.padlock.gatt import GATEWAY_MAX_HOLD_S, LOCK_ID_LEN
from protocols.padlock.messages import InfoResponse, PushKind

DEFAULT_SCAN_TIMEOUT_S = 5.0  # a lock advertises several times a second; a few seconds of silence is absence
DEFAULT_CONNECT_TIMEOUT_S = 5.0  # connecting and GATT set-up (MTU, discovery, subscription)
DISCONNECT_TIMEOUT_S = 2.0


class Backend(StrEnum):
    BUMBLE = "bumble"  # bumble host stack: the virtual radio in tests and demos, or an HCI transport
    BLEAK = "bleak"  # bleak over BlueZ: real adapters on the gateway


class PadlockLink(ABC):
    """One padlock, identified by its lock id and verified by its public key (known from enrolment)."""

    lock_id: bytes

    def __init__(self, *, lock_id: bytes, lock_public_key: bytes, address: str | None = None,
                 time_signer: TimeSetSigner | None = None, hold_s: float = GATEWAY_MAX_HOLD_S,
                 response_timeout_s: float = DEFAULT_RESPONSE_TIMEOUT_S,
                 connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
                 scan_timeout_s: float = DEFAULT_SCAN_TIMEOUT_S) -> None:
        if not isinstance(lock_id, bytes) or len(lock_id) != LOCK_ID_LEN:
            raise ValueError(f"lock_id must be {LOCK_ID_LEN} bytes")
        try:
            self.lock_public_key: Ed25519PublicKey = crypto.public_key_from_raw(lock_public_key)
        except ProtocolError as exc:
            raise ValueError(f"lock_public_key: {exc}") from exc
        self.lock_id = lock_id
        self.address = address  # known from enrolment, or learnt from the advert carrying the lock id
        self.time_signer = time_signer
        self.hold_s = hold_s
        self.response_timeout_s = response_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.scan_timeout_s = scan_timeout_s

    # -- implemented by a backend ------------------------------------------------------------------
    async def scan_advert(self, timeout_s: float) -> LockAdvert | None:
        """The next advertisement of this lock heard within ``timeout_s`` (None: not heard)."""
        with link_errors():
            return await self._scan_advert(timeout_s)

    @abstractmethod
    async def _scan_advert(self, timeout_s: float) -> LockAdvert | None:
        """:meth:`scan_advert` on the backend's radio; may raise the padlock client's errors."""

    @abstractmethod
    async def _open_channel(self) -> GattChannel:
        """Find the lock (within ``scan_timeout_s``), connect, negotiate the MTU and subscribe (within
        ``connect_timeout_s``); raises the padlock client's errors or PadlockLinkError. Must leave nothing
        connected when it fails or is cancelled.
        """

    @abstractmethod
    async def close(self) -> None:
        """Release the radio resources this link owns (idempotent)."""

    # -- visits ------------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def visit(self) -> AsyncIterator[PadlockSession]:
        """Connect, yield a session, disconnect — within ``hold_s`` of connecting, finished or not."""
        limit_s = self.scan_timeout_s + self.connect_timeout_s  # hear the lock, then connect and set up
        try:
            async with asyncio.timeout(limit_s):
                with link_errors():
                    channel = await self._open_channel()
                try:
                    raise_if_cancelling()
                except asyncio.CancelledError:
                    await _let_go(channel)
                    raise
        except TimeoutError:
            raise PadlockLinkError(f"could not connect to lock {self.lock_id.hex()} within {limit_s} s",
                                   code="timeout") from None
        session = PadlockSession(channel, lock_id=self.lock_id, lock_public_key=self.lock_public_key,
                                 response_timeout_s=self.response_timeout_s,
                                 deadline=time.monotonic() + self.hold_s)
        try:
            async with asyncio.timeout(self.hold_s):
                with link_errors():
                    yield session
        except TimeoutError:
            raise PadlockLinkError(f"gave lock {self.lock_id.hex()} back after holding it {self.hold_s} s",
                                   code="timeout") from None
        finally:
            await _let_go(channel)
        raise_if_cancelling()

    async def fetch_events(self, since_seq: int, *, prev_hash: bytes | None = None) -> list[AuditEntry]:
        """Connect briefly, pull every entry after ``since_seq`` and verify the chain with the lock's key.

        ``prev_hash`` is the hash of the stored entry ``since_seq`` (checks the first entry's link; without
        it the link is taken on trust, signature and seq still checked). Raises PadlockLinkError ``bad_chain``
        on a break. May return fewer entries than the lock holds when the hold ran out: fetch again.
        """
        cursor = ChainCursor(since_seq, prev_hash if prev_hash is not None or since_seq else GENESIS_HASH)
        progress = FetchProgress()
        async with self.visit() as session:
            await session.fetch(cursor, progress)
        return progress.entries

    async def push(self, kind: PushKind | str, signed: bytes) -> str:
        """Push a signed structure; returns the lock's result code name (``ok``, ``deferred``, ``stale`` …).

        ``kind``: a :class:`PushKind` — trust list, revocation list or gas attestation with the signed bytes, or
        time set with ``signed=b""``: a time set must answer a fresh challenge, so it is signed here, on the link,
        by ``time_signer`` — and only from a trusted clock (ClockUntrusted is raised before connecting).
        """
        kind = push_kind(kind)
        if kind is PushKind.TIME_SET:
            if signed:
                raise ValueError("a time set is signed on the link (it answers a fresh challenge): pass signed=b''")
            return await self.set_time()
        async with self.visit() as session:
            return await session.push(kind, signed)

    async def set_time(self) -> str:
        """Set the lock's clock to the gateway's trusted time (signed time set bound to a challenge)."""
        if self.time_signer is None:
            raise ValueError("this link has no time_signer: it cannot set a padlock's time")
        self.time_signer.check()  # untrusted clock: raise before connecting
        async with self.visit() as session:
            return await session.set_time(self.time_signer)

    async def read_info(self) -> InfoResponse:
        async with self.visit() as session:
            return await session.read_info()

    async def __aenter__(self) -> PadlockLink:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def _let_go(channel: GattChannel) -> None:
    """Disconnect within a bound — also when the visit is being cancelled (the cancellation goes on after)."""
    disconnect = asyncio.ensure_future(asyncio.wait_for(channel.close(), DISCONNECT_TIMEOUT_S))
    try:
        await asyncio.shield(disconnect)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await disconnect  # bounded by its own timeout; the lock must not stay held by a dead visit
        raise
    except Exception:  # the link is already gone: nothing left to let go of
        pass


def open_link(backend: Backend | str, *, lock_id: bytes, lock_public_key: bytes, address: str | None,
              **kw: Any) -> PadlockLink:
    """A link over the configured backend (imported only when chosen: a gateway needs only one of them).

    bumble: ``central=BumbleCentral`` (shared by the links on one radio) or ``hci="tcp-client:HOST:PORT"``
    (the link opens and owns its own central). bleak: ``adapter="hci0"`` optionally. Common: ``time_signer``,
    ``hold_s``, ``response_timeout_s``, ``connect_timeout_s``, ``scan_timeout_s``.
    """
    backend = Backend(backend)
    if backend is Backend.BUMBLE:
        from edge.drivers.ble.bumble_link import BumblePadlockLink

        return BumblePadlockLink(lock_id=lock_id, lock_public_key=lock_public_key, address=address, **kw)
    from edge.drivers.ble.bleak_link import BleakPadlockLink

    return BleakPadlockLink(lock_id=lock_id, lock_public_key=lock_public_key, address=address, **kw)
