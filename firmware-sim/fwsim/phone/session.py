"""The central's side of the padlock protocol over one connected link: requests, answers, events.

``PadlockSession`` fragments each request at the link's MTU, reassembles the notified answer, and sets
aside the lock's unsolicited events (signed audit entries). ``unlock`` runs the phone's whole exchange:
challenge → proof of possession over the challenge's exact bytes → unlock → result (and the opened event).
Gateways and technicians use the same session for info, audit fetch, pushes and provisioning.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fwsim.phone.errors import LinkLost, LockTimeout, UnexpectedAnswer
from fwsim.phone.link import LockLink
from fwsim.phone.words import result_in_words
from protocols.errors import GattError
from protocols.padlock import messages as m
from protocols.padlock.fragment import Reassembler, fragment
from protocols.token import sign_pop, token_hash

ANSWER_TIMEOUT_S = 5.0
OPENED_EVENT_WAIT_S = 1.0  # the opened event follows an ok result at once


@dataclass(frozen=True, slots=True)
class UnlockOutcome:
    """The padlock's answer to an unlock, with the events it notified during the exchange."""

    lock_id: bytes
    result: m.Result
    events: tuple[bytes, ...] = ()  # signed audit entries (verify with protocols.padlock.audit)

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def code(self) -> str:
        return self.result.code

    def in_words(self) -> str:
        return result_in_words(self.result)


class PadlockSession:
    def __init__(self, link: LockLink, *, answer_timeout_s: float = ANSWER_TIMEOUT_S) -> None:
        self.link = link
        self.answer_timeout_s = answer_timeout_s
        self.events: list[bytes] = []  # entries of every event notified on this link, in order
        self._reassembler = Reassembler()

    async def send(self, message: m.Message | bytes) -> None:
        data = message if isinstance(message, bytes) else message.encode()
        for piece in fragment(data, self.link.mtu):
            await self.link.write(piece)

    async def receive_raw(self, *, timeout_s: float | None = None) -> bytes:
        """The next whole notified message, exactly as the lock sent it (events included)."""
        timeout = self.answer_timeout_s if timeout_s is None else timeout_s
        while True:
            piece = await self.link.next_fragment(timeout)
            try:
                message = self._reassembler.feed(piece)
            except GattError as exc:
                raise UnexpectedAnswer(f"the padlock's fragments do not reassemble: {exc}") from exc
            if message is not None:
                return message

    async def receive(self, *, timeout_s: float | None = None) -> tuple[m.Message, bytes]:
        """The next answer (not an event) and its exact bytes; events on the way go to :attr:`events`."""
        while True:
            raw = await self.receive_raw(timeout_s=timeout_s)
            try:
                message = m.decode_message(raw)
            except GattError as exc:
                raise UnexpectedAnswer(f"the padlock sent a message that does not decode: {exc}") from exc
            if isinstance(message, m.EventNotice):
                self.events.append(message.entry)
                continue
            return message, raw

    async def request(self, message: m.Message | bytes) -> tuple[m.Message, bytes]:
        """Send a request (a message, or raw bytes for tests of broken input) and wait for its answer."""
        await self.send(message)
        return await self.receive()

    async def expect(self, message: m.Message | bytes, answer: type[m.Message]) -> m.Message:
        """Send ``message``; the answer must be ``answer`` or a Result (a refusal), else UnexpectedAnswer."""
        reply, _raw = await self.request(message)
        if not isinstance(reply, answer | m.Result):
            raise UnexpectedAnswer(f"{type(message).__name__} answered with {type(reply).__name__}")
        return reply

    async def info(self) -> m.InfoResponse | m.Result:
        return await self.expect(m.InfoRequest(), m.InfoResponse)  # type: ignore[return-value]

    async def challenge(self, purpose: m.Purpose = m.Purpose.UNLOCK) -> tuple[m.Challenge, bytes] | m.Result:
        """A fresh challenge and its exact bytes (what the proof of possession signs), or the refusal."""
        reply, raw = await self.request(m.ChallengeRequest(purpose))
        if isinstance(reply, m.Result):
            return reply
        if not isinstance(reply, m.Challenge):
            raise UnexpectedAnswer(f"challenge request answered with {type(reply).__name__}")
        return reply, raw

    async def result_of(self, message: m.Message) -> m.Result:
        """Send a request answered by a Result (unlock, pushes, provision)."""
        return await self.expect(message, m.Result)  # type: ignore[return-value]

    async def audit_fetch(self, since_seq: int, limit: int = m.MAX_AUDIT_BATCH) -> m.AuditEntries | m.Result:
        return await self.expect(m.AuditFetch(since_seq, limit), m.AuditEntries)  # type: ignore[return-value]

    async def unlock_request(self, token: bytes, holder: Ed25519PrivateKey) -> tuple[m.UnlockRequest, bytes] | m.Result:
        """Get a challenge and build the unlock answering it (without sending it); or the lock's refusal."""
        got = await self.challenge(m.Purpose.UNLOCK)
        if isinstance(got, m.Result):
            return got
        challenge, raw = got
        pop = sign_pop(holder, raw, challenge.lock_id, token_hash(token))
        return m.UnlockRequest(nonce=challenge.nonce, token=token, pop_signature=pop), challenge.lock_id

    async def unlock(self, token: bytes, holder: Ed25519PrivateKey) -> UnlockOutcome:
        """The phone's exchange: challenge, then the token with a PoP signature by ``holder`` over it."""
        first = len(self.events)
        built = await self.unlock_request(token, holder)
        if isinstance(built, m.Result):
            return UnlockOutcome(lock_id=b"", result=built, events=tuple(self.events[first:]))
        request, lock_id = built
        result = await self.result_of(request)
        if result.ok:
            await self.wait_for_event(OPENED_EVENT_WAIT_S)
        return UnlockOutcome(lock_id=lock_id, result=result, events=tuple(self.events[first:]))

    async def wait_for_event(self, timeout_s: float) -> bytes | None:
        """The next notified event's entry, or None when none comes within ``timeout_s``."""
        try:
            raw = await self.receive_raw(timeout_s=timeout_s)
        except (LockTimeout, LinkLost):
            return None
        try:
            message = m.decode_message(raw)
        except GattError as exc:
            raise UnexpectedAnswer(f"the padlock sent a message that does not decode: {exc}") from exc
        if not isinstance(message, m.EventNotice):
            raise UnexpectedAnswer(f"unsolicited {type(message).__name__} from the padlock")
        self.events.append(message.entry)
        return message.entry
