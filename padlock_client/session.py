"""The central's side of the padlock protocol over one connected :class:`GattChannel`: requests and answers.

Every request is fragmented at the link's negotiated MTU and answered by exactly one response message;
``event`` notifications that arrive meanwhile are set aside in :attr:`ClientSession.events` (signed audit
entries, unverified). Every wait is bounded (``response_timeout_s`` unless a call says otherwise). The gateway
(audit fetch, pushes, time set) and the phone (challenge → proof of possession → unlock) build on this class.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

from padlock_client.channel import GattChannel, raise_if_cancelling
from padlock_client.errors import LinkLost, LockBusy, LockRefused, LockTimeout, UnexpectedAnswer
from protocols.errors import ProtocolError
from protocols.padlock import messages as m
from protocols.padlock.fragment import Reassembler, fragment

DEFAULT_RESPONSE_TIMEOUT_S = 3.0
_M = TypeVar("_M", bound=m.Message)


class ClientSession:
    """Requests over one connected channel, one at a time (answers are matched by order). Not reusable after
    the channel is lost."""

    def __init__(self, channel: GattChannel, *, response_timeout_s: float = DEFAULT_RESPONSE_TIMEOUT_S) -> None:
        self.channel = channel
        self.response_timeout_s = response_timeout_s
        self.events: list[bytes] = []  # entries of every event the lock notified on this link, in order
        self._reassembler = Reassembler(mtu=channel.mtu)
        self._lock = asyncio.Lock()

    # -- the wire -----------------------------------------------------------------------------------
    async def send(self, message: m.Message | bytes) -> None:
        """Write a message (or raw bytes, for tests of broken input) in fragments at the link's MTU."""
        data = message if isinstance(message, bytes) else message.encode()
        for piece in fragment(data, self.channel.mtu):
            await self.channel.write(piece)

    async def receive_raw(self, *, timeout_s: float | None = None) -> bytes:
        """The next whole notified message, exactly as the lock sent it (events included)."""
        timeout = self.response_timeout_s if timeout_s is None else timeout_s
        try:
            async with asyncio.timeout(timeout):
                while True:
                    try:
                        data = self._reassembler.feed(await self.channel.receive())
                    except ProtocolError as exc:
                        raise UnexpectedAnswer(f"the padlock's fragments do not reassemble: {exc}") from exc
                    if data is not None:
                        return data
        except TimeoutError:
            raise LockTimeout(f"no answer from the padlock within {timeout:g} s") from None

    async def receive(self, *, timeout_s: float | None = None) -> tuple[m.Message, bytes]:
        """The next answer (not an event) and its exact bytes; events on the way go to :attr:`events`."""
        while True:
            raw = await self.receive_raw(timeout_s=timeout_s)
            message = _decode(raw)
            if isinstance(message, m.EventNotice):
                self.events.append(message.entry)
                continue
            return message, raw

    async def request(self, message: m.Message | bytes) -> tuple[m.Message, bytes]:
        """Send a request and return the lock's one answer and its exact bytes, all within ``response_timeout_s``."""
        async with self._lock:
            raise_if_cancelling()
            try:
                async with asyncio.timeout(self.response_timeout_s):
                    await self.send(message)
                    return await self.receive(timeout_s=self.response_timeout_s)
            except TimeoutError:
                name = "raw bytes" if isinstance(message, bytes) else type(message).__name__
                raise LockTimeout(f"no answer to {name} within {self.response_timeout_s:g} s") from None

    # -- answers ------------------------------------------------------------------------------------
    async def expect(self, message: m.Message | bytes, answer: type[_M]) -> _M | m.Result:
        """Send ``message``; the answer must be ``answer`` or a Result (a refusal), else UnexpectedAnswer."""
        reply, _raw = await self.request(message)
        if not isinstance(reply, answer | m.Result):
            raise UnexpectedAnswer(f"{type(message).__name__} answered with {type(reply).__name__}")
        return reply

    async def require(self, message: m.Message, answer: type[_M]) -> _M:
        """Send ``message``; its answer must be ``answer``: a refusal raises LockBusy (``busy``, ``backoff``)
        or LockRefused, anything else UnexpectedAnswer."""
        reply = await self.expect(message, answer)
        if isinstance(reply, answer):
            return reply
        assert isinstance(reply, m.Result)
        error = LockBusy if reply.code in ("busy", "backoff") else LockRefused
        raise error(f"the padlock answered {type(message).__name__} with {reply.code}", result=reply.code,
                    retry_after=reply.retry_after)

    async def result_of(self, message: m.Message) -> m.Result:
        """Send a request answered by a Result (unlock, pushes, provision)."""
        return await self.expect(message, m.Result)

    # -- requests -----------------------------------------------------------------------------------
    async def info(self) -> m.InfoResponse | m.Result:
        return await self.expect(m.InfoRequest(), m.InfoResponse)

    async def challenge(self, purpose: m.Purpose = m.Purpose.UNLOCK) -> tuple[m.Challenge, bytes] | m.Result:
        """A fresh challenge and its exact bytes (what a proof of possession signs), or the refusal."""
        reply, raw = await self.request(m.ChallengeRequest(purpose))
        if isinstance(reply, m.Result):
            return reply
        if not isinstance(reply, m.Challenge):
            raise UnexpectedAnswer(f"challenge request answered with {type(reply).__name__}")
        return reply, raw

    async def audit_fetch(self, since_seq: int, limit: int = m.MAX_AUDIT_BATCH) -> m.AuditEntries | m.Result:
        return await self.expect(m.AuditFetch(since_seq, limit), m.AuditEntries)

    async def wait_for_event(self, timeout_s: float) -> bytes | None:
        """The next notified event's entry, or None when none comes within ``timeout_s`` (or the link drops)."""
        try:
            raw = await self.receive_raw(timeout_s=timeout_s)
        except (LockTimeout, LinkLost):
            return None
        message = _decode(raw)
        if not isinstance(message, m.EventNotice):
            raise UnexpectedAnswer(f"unsolicited {type(message).__name__} from the padlock")
        self.events.append(message.entry)
        return message.entry


def _decode(raw: bytes) -> m.Message:
    try:
        return m.decode_message(raw)
    except ProtocolError as exc:
        raise UnexpectedAnswer(f"the padlock sent a message that does not decode: {exc}") from exc
