"""What the daemon does with each verified cloud command (the gate in ``edge.downlink`` has checked it).

``permit_issued`` and ``permit_revoked`` become session inputs of the permit's space; ``alarm_ack`` acknowledges
a latched alarm for the named attendant (a level-2 gas alarm once the gas is back in range); ``time`` makes the
clock trusted; ``revocation_list`` and ``trust_list_update`` are pushed to the padlocks — deferred on a padlock
whose session is open, so nothing the cloud sends can bar the way out of people inside. A refusal raises
:class:`~edge.errors.EdgeError` with a code, which the downlink reports to the cloud as the command's result.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from edge.core.alarms import AlarmError
from edge.core.session_io import PadlockPushRequested, Permit, PermitPushed, PermitRevoked
from edge.errors import EdgeError
from protocols.commands import AlarmAck, Command, PermitIssued, RevocationList, TimeSet, TrustListUpdate
from protocols.commands import PermitRevoked as PermitRevokedCommand
from protocols.uplink.fields import b64url_decode

if TYPE_CHECKING:
    from edge.daemon.app import Daemon

Handler = Callable[[Command], Awaitable[None]]


def permit_of(command: PermitIssued) -> Permit:
    claims = command.body.claims
    return Permit(permit_id=claims.permit_id, space=claims.space_id, lock_ids=frozenset(claims.lock_ids),
                  not_before=claims.not_before_ms // 1000, expires=claims.not_after_ms // 1000,
                  max_duration_s=max(1, claims.max_continuous_ms // 1000), entrant_limit=claims.entrant_limit,
                  ventilation=claims.ventilation_required)


class CloudCommands:
    """The handlers, by command kind, for :class:`edge.downlink.Downlink` and the local console alike."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def handlers(self) -> dict[str, Handler]:
        return {"permit_issued": self.permit_issued, "permit_revoked": self.permit_revoked,
                "alarm_ack": self.alarm_ack, "time": self.time, "revocation_list": self.padlock_push,
                "trust_list_update": self.padlock_push}

    def _space(self, space_id: str) -> str:
        if space_id not in self.daemon.spaces:
            raise EdgeError(f"space {space_id} is not on this gateway", code="unknown_space", field="space_id")
        return space_id

    async def permit_issued(self, command: Command) -> None:
        assert isinstance(command, PermitIssued)
        permit = permit_of(command)
        await self.daemon.step(self._space(permit.space), [PermitPushed(permit)])

    async def permit_revoked(self, command: Command) -> None:
        assert isinstance(command, PermitRevokedCommand)
        claims = command.body.claims
        await self.daemon.step(self._space(claims.space_id),
                               [PermitRevoked(claims.permit_id, command.body.reason or "")])

    async def alarm_ack(self, command: Command) -> None:
        assert isinstance(command, AlarmAck)
        try:
            alarm_id = int(command.body.alarm_id)
        except ValueError:
            raise EdgeError(f"no alarm {command.body.alarm_id}", code="unknown_alarm", field="alarm_id") from None
        try:
            await self.daemon.acknowledge_when_clear(alarm_id, command.body.by)  # a level-2 gas: once it is back
        except AlarmError as exc:
            raise EdgeError(str(exc), code="refused", field="alarm_id") from None

    async def time(self, command: Command) -> None:
        assert isinstance(command, TimeSet)
        self.daemon.clock_keeper.take_time(command)  # bounded by the echoed request's round trip, or the lifetime

    async def padlock_push(self, command: Command) -> None:
        if isinstance(command, RevocationList):
            what, blob = "revocation_list", command.body.revocation_list
        else:
            assert isinstance(command, TrustListUpdate)
            what, blob = "trust_list", command.body.trust_list
        self.daemon.held_blobs[what] = b64url_decode(blob)
        for lock in self.daemon.config.padlocks:
            await self.daemon.step(lock.space, [PadlockPushRequested(lock.id, what)])
