"""One gateway visit to a padlock over an open channel: info, audit fetch, pushes, time set.

The exchange itself — fragmenting at the MTU, one answer per request, events set aside (``live_entries``),
every wait bounded by ``response_timeout_s`` — is the shared padlock client's
(:class:`padlock_client.ClientSession`); this adds what only a gateway does: verifying the audit chain it fetches,
the deadline of its hold on the lock (``GATEWAY_MAX_HOLD_S``, enforced by the link) and signed pushes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.drivers.ble.chain import ChainCursor, check_not_ahead, check_tail, verify_fetched
from edge.drivers.ble.errors import PadlockLinkError
from edge.drivers.ble.timeset import TimeSetSigner
from padlock_client.channel import GattChannel
from padlock_client.session import DEFAULT_RESPONSE_TIMEOUT_S, ClientSession
from protocols.padlock import messages as m
from protocols.padlock.audit import MAX_ENTRY_BYTES, AuditEntry
from protocols.padlock.gatt import MAX_MESSAGE_BYTES
from protocols.padlock.messages import PushKind

#: Entries asked per audit fetch: as many as surely fit one 4096-byte message at the largest entry size
#: (512 bytes + a 3-byte CBOR length each, plus the map around them). The protocol allows asking for up to 32,
#: but does not say a lock trims a batch that would not fit; asking for 7 never depends on it.
FETCH_LIMIT = (MAX_MESSAGE_BYTES - 16) // (MAX_ENTRY_BYTES + 3)

__all__ = ["DEFAULT_RESPONSE_TIMEOUT_S", "FETCH_LIMIT", "FetchProgress", "PadlockSession"]


@dataclass(slots=True)
class FetchProgress:
    """What a fetch has verified so far; ``complete`` once the lock said it has nothing more."""

    entries: list[AuditEntry] = field(default_factory=list)
    complete: bool = False


class PadlockSession(ClientSession):
    """The gateway's requests over one connected channel. Raises the padlock client's errors (the link
    re-raises them as PadlockLinkError) and PadlockLinkError for what only the gateway checks."""

    def __init__(self, channel: GattChannel, *, lock_id: bytes, lock_public_key: Ed25519PublicKey,
                 response_timeout_s: float = DEFAULT_RESPONSE_TIMEOUT_S, deadline: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(channel, response_timeout_s=response_timeout_s)
        self.lock_id = lock_id
        self.lock_public_key = lock_public_key
        self.deadline = deadline  # monotonic time by which the visit must end (soft: checked between requests)
        self._monotonic = monotonic
        self.last_info: m.InfoResponse | None = None  # the last info read on this visit

    @property
    def live_entries(self) -> list[bytes]:
        """Signed entries the lock notified during the visit (unverified)."""
        return self.events

    def time_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - self._monotonic()

    # -- operations -------------------------------------------------------------------------------
    async def read_info(self) -> m.InfoResponse:
        info = await self.require(m.InfoRequest(), m.InfoResponse)
        if info.lock_id != self.lock_id:
            raise PadlockLinkError(f"connected to lock {info.lock_id.hex()}, expected {self.lock_id.hex()}",
                                   code="bad_response", field="lock_id")
        self.last_info = info
        return info

    async def fetch(self, cursor: ChainCursor, progress: FetchProgress | None = None) -> FetchProgress:
        """Pull and verify every entry after ``cursor`` (repeating while the lock says ``more``).

        Stops early, ``complete`` false, when the visit's deadline is too near for another round: what was
        verified so far is in ``progress`` either way (pass one in to keep it when an error interrupts).
        """
        progress = progress if progress is not None else FetchProgress()
        info = self.last_info or await self.read_info()
        check_not_ahead(cursor, info.event_seq, lock_id=self.lock_id)
        while True:
            reply = await self.require(m.AuditFetch(since_seq=cursor.seq, limit=FETCH_LIMIT), m.AuditEntries)
            if not reply.entries and reply.more:
                raise PadlockLinkError("the lock answered an empty batch with more to come", code="bad_response")
            verified = verify_fetched(reply.entries, lock_public_key=self.lock_public_key, lock_id=self.lock_id,
                                      cursor=cursor)
            progress.entries.extend(verified)
            cursor = cursor.after(verified)
            if not reply.more:
                check_tail(cursor.seq, info.event_seq, lock_id=self.lock_id)
                progress.complete = True
                return progress
            left = self.time_left()
            if left is not None and left < 2 * self.response_timeout_s:
                return progress  # the hold is nearly over: the rest waits for the next visit

    async def push(self, kind: PushKind | str, signed: bytes) -> str:
        """Push a signed trust list, revocation list or gas attestation; the lock's result code name.

        A refusal by the lock is an answer, not an error (``bad_signature``, ``stale``, ``deferred`` …), except
        ``busy`` / ``backoff``, which raise PadlockLinkError ``busy``. A time set is :meth:`set_time`.
        """
        kind = push_kind(kind)
        if kind is PushKind.TIME_SET:
            raise ValueError("a time set is signed on the link (it answers a fresh challenge): use set_time")
        return await self._push(kind.message(signed))

    async def set_time(self, signer: TimeSetSigner) -> str:
        """Ask a TIME_SET challenge, sign the gateway's trusted time bound to its nonce, push it.

        The signer refuses (ClockUntrusted) when the gateway clock is not trusted: then nothing is sent.
        """
        signer.check()
        challenge = await self.require(m.ChallengeRequest(m.Purpose.TIME_SET), m.Challenge)
        if challenge.lock_id != self.lock_id or challenge.purpose is not m.Purpose.TIME_SET:
            raise PadlockLinkError("the lock sent a challenge for another lock or purpose", code="bad_response")
        return await self._push(m.TimeSetPush(signer.sign(self.lock_id, challenge.nonce)))

    async def _push(self, push: m.Message) -> str:
        result = await self.result_of(push)
        if result.request not in (int(push.TYPE), 0):
            raise PadlockLinkError(f"the lock answered request 0x{result.request:02x} to 0x{int(push.TYPE):02x}",
                                   code="bad_response")
        if result.code in ("busy", "backoff"):
            raise PadlockLinkError(f"the lock is busy ({result.code})", code="busy", result=result.code,
                                   retry_after=result.retry_after)
        return result.code


def push_kind(kind: PushKind | str) -> PushKind:
    """``kind`` as a :class:`PushKind`; ValueError naming the kinds when it is none."""
    try:
        return PushKind(kind)
    except ValueError:
        raise ValueError(f"unknown push kind {kind!r}; one of {sorted(PushKind)}") from None
