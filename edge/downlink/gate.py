"""The gate every downlink command passes: signed by a trusted cloud key, for this gateway, on its channel,
counter above the last accepted, not expired. Anything else is refused and logged with its reason code.

The accepted counter is stored (durably) before the command is returned, so a command is acted on at most
once even across a restart; one that fails after that is re-issued by the cloud with a new counter.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.downlink.state import CounterStore
from edge.errors import EdgeError
from protocols.commands import ACK_CHANNEL, AckCommand, Channel, Command, SignedCommand, TimeSet, verify_command
from protocols.errors import EnvelopeError
from protocols.uplink import Ack

log = structlog.get_logger(__name__)

#: The gateway's wall clock in unix ms, or None while it is not trusted (then only a ``time`` command passes).
TrustedClock = Callable[[], int | None]
#: Called with a genuine ``time`` command our clock calls expired; returns whether to take it anyway: only when it
#: echoes one of our time requests (then its freshness is measured and our clock runs ahead) and NTP does not
#: vouch for our clock (uplink spec 5.5). Otherwise the refusal stands: it may have waited past its lifetime.
ExpiredTime = Callable[[TimeSet], bool]


class CommandRejected(EdgeError):
    """A downlink command was refused; ``code`` is one of ``protocols.commands.REJECTION_CODES``."""

    default_code = "malformed"


class CommandGate:
    """Verifies commands one at a time (counters must be checked and advanced in arrival order)."""

    def __init__(self, store: CounterStore, keys: Mapping[bytes, Ed25519PublicKey], *, gateway: str,
                 clock_ms: TrustedClock | None = None, on_expired_time: ExpiredTime | None = None) -> None:
        if not keys:
            raise ValueError("no trusted cloud command key: every command would be refused")
        self.store = store
        self.gateway = gateway
        self._keys = dict(keys)
        self._clock_ms: TrustedClock = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._on_expired_time = on_expired_time
        self._lock = asyncio.Lock()
        self.rejected: Counter[str] = Counter()  # by reason code, for metrics and tests
        self.accepted: Counter[str] = Counter()  # by command kind

    async def accept(self, data: bytes | SignedCommand, channel: Channel) -> Command:
        """The verified command; CommandRejected (logged, with the reason code) otherwise."""
        async with self._lock:
            try:
                command = self._verify(data, channel, self._clock_ms())
            except EnvelopeError as exc:
                retried = self._time_despite_our_clock(data, channel) if exc.code == "expired" else None
                if retried is None:
                    self.rejected[exc.code] += 1
                    log.warning("downlink_command_rejected", gateway=self.gateway, channel=channel, code=exc.code,
                                field=exc.field, detail=str(exc))
                    raise CommandRejected(str(exc), code=exc.code, field=exc.field) from None
                command = retried
            await self.store.advance(channel, command.counter)
            self.accepted[command.kind] += 1
            return command

    def _verify(self, data: bytes | SignedCommand, channel: Channel, now_ms: int | None) -> Command:
        return verify_command(data, self._keys, gateway_id=self.gateway, last_counter=self.store.last(channel),
                              now_ms=now_ms, channel=channel)

    def _time_despite_our_clock(self, data: bytes | SignedCommand, channel: Channel) -> Command | None:
        """A genuine ``time`` command that our clock calls expired but that answers our own time request (so its
        freshness is measured) means our clock runs ahead: take it (unless NTP vouches for our clock)."""
        if self._on_expired_time is None:
            return None
        try:
            command = self._verify(data, channel, None)  # with no clock only a genuine ``time`` passes
        except EnvelopeError:
            return None
        if not isinstance(command, TimeSet) or not self._on_expired_time(command):
            return None
        log.warning("downlink_clock_ahead", gateway=self.gateway, counter=command.counter,
                    detail="a time command answering our request looked expired: the clock is reset from it")
        return command

    async def verify_ack(self, data: bytes) -> Ack | None:
        """For the MQTT uplink: the ack inside a signed ``ack`` command, or None when it is refused."""
        try:
            command = await self.accept(data, ACK_CHANNEL)
        except CommandRejected:
            return None
        assert isinstance(command, AckCommand)  # guaranteed by the channel check
        return command.body
