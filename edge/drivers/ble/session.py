"""One gateway visit to a padlock over an open :class:`GattChannel`: requests, audit fetch, pushes, time set.

Every request is fragmented at the link's negotiated MTU and answered by exactly one response message;
``event`` notifications that arrive meanwhile are kept aside (``live_entries``). Every wait is bounded by
``response_timeout_s``; the visit as a whole is bounded by the link (``GATEWAY_MAX_HOLD_S``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.drivers.ble.chain import ChainCursor, check_not_ahead, check_tail, verify_fetched
from edge.drivers.ble.channel import GattChannel, raise_if_cancelling
from edge.drivers.ble.errors import PadlockLinkError
from edge.drivers.ble.timeset import TimeSetSigner
from protocols.errors import ProtocolError
from protocols.padlock import messages as m
from protocols.padlock.audit import MAX_ENTRY_BYTES, AuditEntry
from protocols.padlock.fragment import Reassembler, fragment
from protocols.padlock.gatt import MAX_MESSAGE_BYTES

DEFAULT_RESPONSE_TIMEOUT_S = 3.0
#: Entries asked per audit fetch: as many as surely fit one 4096-byte message at the largest entry size
#: (512 bytes + a 3-byte CBOR length each, plus the map around them). The protocol allows asking for up to 32,
#: but does not say a lock trims a batch that would not fit; asking for 7 never depends on it.
FETCH_LIMIT = (MAX_MESSAGE_BYTES - 16) // (MAX_ENTRY_BYTES + 3)
_M = TypeVar("_M", bound=m.Message)

#: push kind → message carrying the signed structure ('time' is built on the link, see ``set_time``).
PUSH_MESSAGES: dict[str, type[m.TrustListPush | m.RevocationPush | m.GasAttestationPush]] = {
    "trust": m.TrustListPush,
    "revocation": m.RevocationPush,
    "attestation": m.GasAttestationPush,
}
PUSH_KINDS = frozenset({*PUSH_MESSAGES, "time"})


@dataclass(slots=True)
class FetchProgress:
    """What a fetch has verified so far; ``complete`` once the lock said it has nothing more."""

    entries: list[AuditEntry] = field(default_factory=list)
    complete: bool = False


class PadlockSession:
    """Requests over one connected channel. Not reusable after the channel is lost."""

    def __init__(self, channel: GattChannel, *, lock_id: bytes, lock_public_key: Ed25519PublicKey,
                 response_timeout_s: float = DEFAULT_RESPONSE_TIMEOUT_S, deadline: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.channel = channel
        self.lock_id = lock_id
        self.lock_public_key = lock_public_key
        self.response_timeout_s = response_timeout_s
        self.deadline = deadline  # monotonic time by which the visit must end (soft: checked between requests)
        self._monotonic = monotonic
        self._reassembler = Reassembler(mtu=channel.mtu)
        self._lock = asyncio.Lock()  # one request at a time: responses are matched by order
        self.live_entries: list[bytes] = []  # signed entries the lock notified during the visit (unverified)
        self.info: m.InfoResponse | None = None  # the last info read on this visit

    # -- requests ---------------------------------------------------------------------------------
    def time_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - self._monotonic()

    async def request(self, message: m.Message) -> m.Message:
        """Send ``message`` and return the lock's one response (events are set aside)."""
        async with self._lock:
            raise_if_cancelling()
            try:
                async with asyncio.timeout(self.response_timeout_s):
                    for piece in fragment(message.encode(), self.channel.mtu):
                        await self.channel.write(piece)
                    return await self._response()
            except TimeoutError:
                raise PadlockLinkError(f"no answer to {type(message).__name__} within {self.response_timeout_s} s",
                                       code="timeout") from None

    async def _response(self) -> m.Message:
        while True:
            try:
                data = self._reassembler.feed(await self.channel.receive())
                if data is None:
                    continue
                message = m.decode_message(data)
            except ProtocolError as exc:
                raise PadlockLinkError(f"the lock sent an invalid message: {exc}", code="bad_response") from exc
            if isinstance(message, m.EventNotice):
                self.live_entries.append(message.entry)
                continue
            return message

    async def _expect(self, request: m.Message, answer: type[_M]) -> _M:
        response = await self.request(request)
        if isinstance(response, answer):
            return response
        if isinstance(response, m.Result):
            code = "busy" if response.code in ("busy", "backoff") else "refused"
            raise PadlockLinkError(f"the lock answered {type(request).__name__} with {response.code}", code=code,
                                   result=response.code, retry_after=response.retry_after)
        raise PadlockLinkError(f"expected {answer.__name__}, the lock sent {type(response).__name__}",
                               code="bad_response")

    # -- operations -------------------------------------------------------------------------------
    async def read_info(self) -> m.InfoResponse:
        info = await self._expect(m.InfoRequest(), m.InfoResponse)
        if info.lock_id != self.lock_id:
            raise PadlockLinkError(f"connected to lock {info.lock_id.hex()}, expected {self.lock_id.hex()}",
                                   code="bad_response", field="lock_id")
        self.info = info
        return info

    async def fetch(self, cursor: ChainCursor, progress: FetchProgress | None = None) -> FetchProgress:
        """Pull and verify every entry after ``cursor`` (repeating while the lock says ``more``).

        Stops early, ``complete`` false, when the visit's deadline is too near for another round: what was
        verified so far is in ``progress`` either way (pass one in to keep it when an error interrupts).
        """
        progress = progress if progress is not None else FetchProgress()
        info = self.info or await self.read_info()
        check_not_ahead(cursor, info.event_seq, lock_id=self.lock_id)
        while True:
            reply = await self._expect(m.AuditFetch(since_seq=cursor.seq, limit=FETCH_LIMIT), m.AuditEntries)
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

    async def push(self, kind: str, signed: bytes) -> str:
        """Push a signed trust list, revocation list or gas attestation; the lock's result code name.

        A refusal by the lock is an answer, not an error (``bad_signature``, ``stale``, ``deferred`` …), except
        ``busy`` / ``backoff``, which raise PadlockLinkError ``busy``.
        """
        message_type = PUSH_MESSAGES.get(kind)
        if message_type is None:
            raise ValueError(f"unknown push kind {kind!r} (one of {sorted(PUSH_MESSAGES)}; time: set_time)")
        return await self._result_of(message_type(signed))

    async def set_time(self, signer: TimeSetSigner) -> str:
        """Ask a TIME_SET challenge, sign the gateway's trusted time bound to its nonce, push it.

        The signer refuses (ClockUntrusted) when the gateway clock is not trusted: then nothing is sent.
        """
        signer.check()
        challenge = await self._expect(m.ChallengeRequest(m.Purpose.TIME_SET), m.Challenge)
        if challenge.lock_id != self.lock_id or challenge.purpose is not m.Purpose.TIME_SET:
            raise PadlockLinkError("the lock sent a challenge for another lock or purpose", code="bad_response")
        return await self._result_of(m.TimeSetPush(signer.sign(self.lock_id, challenge.nonce)))

    async def _result_of(self, push: m.Message) -> str:
        result = await self._expect(push, m.Result)
        if result.request not in (int(push.TYPE), 0):
            raise PadlockLinkError(f"the lock answered request 0x{result.request:02x} to 0x{int(push.TYPE):02x}",
                                   code="bad_response")
        if result.code in ("busy", "backoff"):
            raise PadlockLinkError(f"the lock is busy ({result.code})", code="busy", result=result.code,
                                   retry_after=result.retry_after)
        return result.code
