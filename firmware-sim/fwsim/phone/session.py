"""The phone's exchange with a padlock: challenge → proof of possession over the challenge's exact bytes →
unlock → result (and the opened event).

The request/response exchange under it — fragments at the link's MTU, one answer per request, the lock's
unsolicited events set aside, bounded waits — is the shared padlock client's
(:class:`padlock_client.ClientSession`, also what the gateway runs); technicians and tests use the same session
for info, audit fetch, pushes and provisioning.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fwsim.phone.link import LockLink
from fwsim.phone.words import result_in_words
from padlock_client.session import ClientSession
from protocols.padlock import messages as m
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


class PadlockSession(ClientSession):
    def __init__(self, link: LockLink, *, answer_timeout_s: float = ANSWER_TIMEOUT_S) -> None:
        super().__init__(link, response_timeout_s=answer_timeout_s)

    @property
    def link(self) -> LockLink:
        return self.channel

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
