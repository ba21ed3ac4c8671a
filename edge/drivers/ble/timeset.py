"""Signing a padlock time set with the gateway key — only from a trusted gateway clock.

The lock binds a time set to the nonce of a fresh TIME_SET challenge, so the signature is made on the link,
right after the challenge arrives. The time comes from ``trusted_time`` (in the daemon:
``ClockKeeper.for_padlock``), which raises :class:`~edge.clocktrust.ClockUntrusted` when the gateway's clock
may not be relied on, or only within more than the padlock bound (10 s, uplink spec §5.5): then nothing is
signed and nothing is pushed.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.clocktrust import TrustedTime
from protocols.padlock.pushes import TimeSet, sign_time_set


class TimeSetSigner:
    """Signs time sets with ``gateway_key`` at the time ``trusted_time()`` gives (raises when untrusted)."""

    def __init__(self, gateway_key: Ed25519PrivateKey, trusted_time: Callable[[], TrustedTime]) -> None:
        self._key = gateway_key
        self._trusted_time = trusted_time
        self.last_time: TrustedTime | None = None  # the time of the last signed set (for the padlock sighting)

    def check(self) -> TrustedTime:
        """The trusted time now; raises ClockUntrusted before anything is asked of the lock."""
        return self._trusted_time()

    def sign(self, lock_id: bytes, nonce: bytes) -> bytes:
        now = self._trusted_time()  # read again: the challenge round trip took time
        signed = sign_time_set(TimeSet(lock_id=lock_id, nonce=nonce, time=now.wall_s), self._key)
        self.last_time = now
        return signed
