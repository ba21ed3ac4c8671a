"""What the daemon does with each verified cloud command (the gate in ``edge.downlink`` has checked it).

``permit_issued`` and ``permit_revoked`` become session inputs of the permit's space; ``alarm_ack`` acknowledges
a latched alarm for the named attendant by the alarm desk's rules (a level-2 gas alarm is refused with
``gas_present`` while the gas is out of range — nothing is held for later); ``time`` makes the clock trusted;
``revocation_list`` and ``trust_list_update`` are kept (persisted) and pushed to the padlocks — deferred on a
padlock whose session is open, so nothing the cloud sends can bar the way out of people inside. A revocation list is
held per padlock it names (its scope is in the signed list: one space, its locks) and pushed only to those, so a
gateway serving two spaces never hands one space's list to the other's padlocks. A refusal raises
:class:`~edge.errors.EdgeError` with a code (protocols/uplink.md 5.3), which the dispatcher reports to the cloud
as the command's result.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from edge.core.alarms import AlarmError
from edge.core.session_io import Permit, PermitPushed, PermitRevoked
from edge.daemon.padlocks import held_push_key
from edge.daemon.ports import CommandPort
from edge.errors import EdgeError
from protocols.commands import AlarmAck, Command, PermitIssued, RevocationList, TimeSet, TrustListUpdate
from protocols.commands import PermitRevoked as PermitRevokedCommand
from protocols.errors import TokenError
from protocols.revocation import decode_revocation_list
from protocols.uplink.fields import b64url_decode

Handler = Callable[[Command], Awaitable[None]]


def permit_of(command: PermitIssued) -> Permit:
    claims = command.body.claims
    return Permit(permit_id=claims.permit_id, space=claims.space_id, lock_ids=frozenset(claims.lock_ids),
                  not_before=claims.not_before_ms // 1000, expires=claims.not_after_ms // 1000,
                  max_duration_s=max(1, claims.max_continuous_ms // 1000), entrant_limit=claims.entrant_limit,
                  ventilation=claims.ventilation_required)


class CloudCommands:
    """The handlers, by command kind, for the one command dispatcher (the downlink and the console alike)."""

    def __init__(self, gateway: CommandPort) -> None:
        self.gateway = gateway

    def handlers(self) -> dict[str, Handler]:
        return {"permit_issued": self.permit_issued, "permit_revoked": self.permit_revoked,
                "alarm_ack": self.alarm_ack, "time": self.time, "revocation_list": self.padlock_push,
                "trust_list_update": self.padlock_push}

    def _space(self, space_id: str) -> str:
        if not self.gateway.has_space(space_id):
            raise EdgeError(f"space {space_id} is not on this gateway", code="unknown_space", field="space_id")
        return space_id

    async def permit_issued(self, command: Command) -> None:
        assert isinstance(command, PermitIssued)
        permit = permit_of(command)
        await self.gateway.step(self._space(permit.space), [PermitPushed(permit)])

    async def permit_revoked(self, command: Command) -> None:
        assert isinstance(command, PermitRevokedCommand)
        claims = command.body.claims
        await self.gateway.step(self._space(claims.space_id),
                               [PermitRevoked(claims.permit_id, command.body.reason or "")])

    async def alarm_ack(self, command: Command) -> None:
        assert isinstance(command, AlarmAck)
        text = command.body.alarm_id
        # Alarm ids are decimal strings ("17"); any other shape names no alarm of this gateway either.
        if not (text.isascii() and text.isdecimal()):
            raise EdgeError(f"no open alarm {text}", code="unknown_alarm", field="alarm_id")
        try:
            await self.gateway.desk.acknowledge(int(text), command.body.by)
        except AlarmError as exc:
            raise EdgeError(str(exc), code=exc.code, field="alarm_id") from None

    async def time(self, command: Command) -> None:
        assert isinstance(command, TimeSet)
        self.gateway.take_time(command)  # bounded by the echoed request's round trip, or the lifetime

    async def padlock_push(self, command: Command) -> None:
        if isinstance(command, RevocationList):
            signed = b64url_decode(command.body.revocation_list)
            try:  # routing only: each padlock verifies the signature (and refuses a list not naming it)
                addressed = {lock.hex() for lock in decode_revocation_list(signed).lock_ids}
            except TokenError as exc:
                raise EdgeError(f"the revocation list does not decode: {exc}", code="malformed",
                                field="revocation_list") from None
            keys = {lock: held_push_key("revocation_list", lock) for lock in self.gateway.padlock_ids()
                    if lock in addressed}
        else:
            assert isinstance(command, TrustListUpdate)
            signed = b64url_decode(command.body.trust_list)
            keys = dict.fromkeys(self.gateway.padlock_ids(), "trust_list")
        await self.gateway.hold_push(signed, keys)
