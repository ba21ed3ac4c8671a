"""The daemon's radio link to its padlocks: one :class:`~edge.drivers.ble.PadlockWatcher` per padlock with a
``backend`` in edge.toml.

Audit entries a watcher fetched and verified go to ``Daemon.relay_audit`` — the one path for padlock entries,
whether they came over the radio or were relayed by a phone — and the watcher's cursor moves only after the
daemon stored them. Pushes the safety core decides (gas attestations; revocation and trust lists, which the core
already defers while people are inside) are queued on the lock's watcher and delivered on its next visit; a newer
push of a kind waits until the one queued before it is delivered, so a lock never gets two of a kind in one visit
out of order. Padlocks without a backend keep the fallback port (:class:`~edge.daemon.padlocks.HeldPushes`).

Bumble links on one HCI transport share one central: a controller serves exactly one host.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog

from edge.config import PadlockConfig
from edge.daemon.padlocks import HeldPushes, PushPort
from edge.drivers.ble import Backend, ChainCursor, PadlockLink, PadlockWatcher, TimeSetSigner, open_link
from protocols.padlock.audit import AuditEntry
from protocols.padlock.messages import PushKind

log = structlog.get_logger(__name__)

#: The daemon's push kinds (actions, held blobs) the padlock link delivers (the daemon's names are PushKind's).
LINK_PUSH_KINDS = {kind.value: kind for kind in PushKind if kind is not PushKind.TIME_SET}

AuditRelay = Callable[[str, Sequence[bytes]], Awaitable[int]]


class PadlockRadio:
    """The :class:`PushPort` of a daemon with radio-linked padlocks. ``await start()`` / ``await stop()``.

    ``relay`` takes a lock's verified entries (the daemon's ``relay_audit``); ``cursor_of`` gives where the
    daemon's stored copy of a lock's chain ends (read once, when the watchers are made); ``time_signer`` lets the
    watchers correct a lock's clock from the gateway's trusted clock (None: never).
    """

    def __init__(self, padlocks: Sequence[PadlockConfig], *, relay: AuditRelay,
                 cursor_of: Callable[[str], ChainCursor], time_signer: TimeSetSigner | None,
                 fallback: PushPort | None = None, **watcher_options: Any) -> None:
        self.fallback: PushPort = fallback or HeldPushes()
        self.results: dict[tuple[str, str], str] = {}  # (lock, kind) → the lock's answer to the last delivery
        self._relay = relay
        self._centrals: dict[str, Any] = {}  # hci spec → BumbleCentral
        self._links: list[PadlockLink] = []
        self.watchers: dict[str, PadlockWatcher] = {}
        self._in_flight: dict[tuple[str, str], asyncio.Future[str]] = {}
        self._newer: dict[tuple[str, str], bytes] = {}
        for lock in padlocks:
            if lock.backend is None:
                continue
            link = self._link(lock, time_signer)
            self._links.append(link)
            self.watchers[lock.id] = PadlockWatcher(link, cursor=cursor_of(lock.id),
                                                    on_entries=self._on_entries(lock.id),
                                                    poll_interval_s=lock.poll_interval_s, **watcher_options)

    def _link(self, lock: PadlockConfig, time_signer: TimeSetSigner | None) -> PadlockLink:
        common: dict[str, Any] = {"lock_id": bytes.fromhex(lock.id), "lock_public_key": bytes.fromhex(lock.public_key),
                                  "address": lock.address, "time_signer": time_signer}
        if lock.backend == Backend.BUMBLE.value:
            from edge.drivers.ble.bumble_link import BumbleCentral

            assert lock.hci is not None  # checked by the config
            central = self._centrals.setdefault(lock.hci, BumbleCentral(hci=lock.hci))
            return open_link(Backend.BUMBLE, central=central, **common)
        return open_link(Backend.BLEAK, adapter=lock.adapter, **common)

    def _on_entries(self, lock_id: str) -> Callable[[list[AuditEntry]], Awaitable[None]]:
        async def deliver(entries: list[AuditEntry]) -> None:
            await self._relay(lock_id, [entry.signed for entry in entries])

        return deliver

    # -- life cycle --------------------------------------------------------------------------------------------
    async def start(self) -> None:
        for central in self._centrals.values():
            await central.start()
        for watcher in self.watchers.values():
            watcher.start()
        log.info("padlock radio started", padlocks=sorted(self.watchers), transports=len(self._centrals))

    async def stop(self) -> None:
        """Stop the watchers (undelivered pushes are dropped: the core pushes again when it matters), close the
        links and the centrals. Safe to call twice."""
        for watcher in self.watchers.values():
            await watcher.stop()
        for link in self._links:
            await link.close()
        for central in self._centrals.values():
            await central.close()
        self._in_flight.clear()
        self._newer.clear()

    # -- pushes ------------------------------------------------------------------------------------------------
    async def push(self, lock_id: str, kind: str, signed: bytes) -> None:
        """Queue ``signed`` for the lock's next visit (never waits for the radio: the safety loop is calling)."""
        if lock_id not in self.watchers:
            await self.fallback.push(lock_id, kind, signed)
            return
        if kind not in LINK_PUSH_KINDS:
            raise ValueError(f"no padlock push of kind {kind!r} (kinds: {sorted(LINK_PUSH_KINDS)})")
        key = (lock_id, kind)
        queued = self._in_flight.get(key)
        if queued is not None and not queued.done():
            self._newer[key] = signed  # the latest wins; it follows once the one before it is delivered
            return
        self._queue(key, signed)

    def _queue(self, key: tuple[str, str], signed: bytes) -> None:
        future = self.watchers[key[0]].queue_push(LINK_PUSH_KINDS[key[1]], signed)
        self._in_flight[key] = future
        future.add_done_callback(lambda done: self._delivered(key, done))

    def _delivered(self, key: tuple[str, str], future: asyncio.Future[str]) -> None:
        if future.cancelled():  # the watcher stopped
            return
        self.results[key] = future.result()
        log.info("padlock push delivered", lock=key[0], kind=key[1], result=self.results[key])
        newer = self._newer.pop(key, None)
        if newer is not None and key[0] in self.watchers and self.watchers[key[0]].running:
            self._queue(key, newer)

    # -- views -------------------------------------------------------------------------------------------------
    def status(self) -> dict[str, dict[str, Any]]:
        """Per padlock: the watcher's state, the seq it holds, visits, the last error and push results."""
        out: dict[str, dict[str, Any]] = {}
        for lock_id, watcher in self.watchers.items():
            health = watcher.health
            out[lock_id] = {"state": str(health.state), "seq": watcher.cursor.seq, "visits": health.visits,
                            "error": health.last_error,
                            "pushes": {kind: result for (lock, kind), result in self.results.items()
                                       if lock == lock_id}}
        return out
