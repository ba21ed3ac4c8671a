"""The gateway's time requests: tokens the cloud echoes in the ``time`` command answering them, so the gateway can
measure how long that command took to come (uplink spec §5.5).

A token is ``<monotonic ms when made>-<tag>``, the tag an HMAC of the instant under a key made afresh for this
process. The cloud treats it as opaque and only copies it into the signed command, which it signs *after* the
request reached it; so when the command arrives the gateway knows it was signed within the last
``now − sent`` ms of its own monotonic clock. The key makes the token unforgeable (a token from another process,
another boot or anyone else's hand fails the tag) and needs no table of open requests: a lost request costs
nothing, and a command answering an old request just measures a long round trip.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

TAG_HEX = 16  # 64 bits: guessing one is hopeless, and the token stays short
_TOKEN = re.compile(r"^(0|[1-9][0-9]{0,17})-([0-9a-f]{16})$")


class TimeRequests:
    """Makes and checks this process's time request tokens; monotonic time (seconds) is passed in."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)

    def _tag(self, sent_ms: int) -> str:
        return hmac.new(self._key, str(sent_ms).encode("ascii"), hashlib.sha256).hexdigest()[:TAG_HEX]

    def new(self, mono: float) -> str:
        """A token for a request sent at ``mono`` (rounded down: the measured round trip can only come out longer)."""
        sent_ms = max(int(mono * 1000), 0)
        return f"{sent_ms}-{self._tag(sent_ms)}"

    def round_trip_ms(self, token: str | None, mono: float) -> float | None:
        """For a command echoing ``token`` that arrived at ``mono``: how long ago the request was sent (ms), which
        bounds how long ago the command was signed. None when the token is not one of ours, or from the future."""
        match = _TOKEN.match(token or "")
        if match is None:
            return None
        sent_ms = int(match.group(1))
        if not hmac.compare_digest(match.group(2), self._tag(sent_ms)):
            return None
        elapsed = mono * 1000 - sent_ms
        return elapsed if elapsed >= 0 else None
