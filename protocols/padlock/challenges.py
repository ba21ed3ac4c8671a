"""The lock's one outstanding challenge, and the check every challenge-bound request goes through.

A lock keeps at most one challenge; a new challenge request replaces it, and any answer to it —
accepted or refused — uses it up, so a captured exchange can never be replayed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from protocols.padlock.gatt import CHALLENGE_TTL_S
from protocols.padlock.messages import Challenge, Purpose


@dataclass(frozen=True, slots=True)
class PendingChallenge:
    challenge: Challenge
    used: bool = False

    def spent(self) -> PendingChallenge:
        return replace(self, used=True)


def challenge_problem(pending: PendingChallenge | None, *, nonce: bytes, purpose: Purpose, lock_id: bytes,
                      now: int, ttl_s: int = CHALLENGE_TTL_S) -> str | None:
    """None when ``nonce`` answers the pending challenge for ``purpose``; else the result code refusing it.

    ``now`` is the lock's trusted time; a challenge is void ``ttl_s`` seconds after its ``lock_time``, and
    also when the clock reads earlier than it (fail closed if time was set in between).
    """
    if pending is None or pending.used:
        return "challenge_unknown_or_used"
    challenge = pending.challenge
    if challenge.nonce != nonce or challenge.purpose != purpose or challenge.lock_id != lock_id:
        return "challenge_unknown_or_used"
    if not challenge.lock_time <= now <= challenge.lock_time + ttl_s:
        return "challenge_expired"
    return None
