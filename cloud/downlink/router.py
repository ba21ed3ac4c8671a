"""The gateway's HTTP poll for signed downlink commands (``protocols/uplink.md`` §7), led by a freshly signed
``time`` command whenever the gateway is due one or asks for one (``cloud.downlink.timesync``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from cloud.deps import DbSession, Now, Settings
from cloud.devices.deps import AuthenticatedGateway
from cloud.downlink.timesync import TimeSync, commands_for_poll
from cloud.schemas import ERROR_RESPONSES
from protocols.commands import encode_poll
from protocols.uplink.fields import TIME_REQUEST_PATTERN

router = APIRouter(prefix="/api/v1", tags=["gateway protocol"], responses=ERROR_RESPONSES)

_CLOCK_DESCRIPTION = ("`untrusted` while the gateway does not trust its wall clock (restarted without NTP): it is "
                      "sent a freshly signed `time` command at once rather than when `downlink.time_interval_s` "
                      "has passed — at most one per 5 s per gateway (within that, one already sent and not yet "
                      "accepted comes again while it lives). `trusted` or absent: nothing changes.")
_TIME_REQUEST_DESCRIPTION = ("the gateway's time request, opaque: a `time` command signed for this poll echoes it in "
                             "`body.echo`, so the gateway can measure how long it took (uplink spec §5.5)")
_POLL_EXAMPLE = {"v": 1, "commands": [{"v": 1, "cose": "0oRYJqMBMhgDcGFwcGxpY2F0aW9uL2pzb24E..."}]}


@router.get("/gateways/{gateway_id}/commands", response_class=Response,
            responses={200: {"description": "down-channel commands above `after`, ascending, at most 100",
                             "content": {"application/json": {"example": _POLL_EXAMPLE}}}})
def poll_commands(gateway: AuthenticatedGateway, db: DbSession, now: Now, settings: Settings, request: Request,
                  after: Annotated[int, Query(ge=0, le=2**63 - 1, description="the last accepted down counter")] = 0,
                  clock: Annotated[Literal["trusted", "untrusted"] | None, Query(description=_CLOCK_DESCRIPTION)]
                  = None,
                  time_request: Annotated[str | None, Query(pattern=TIME_REQUEST_PATTERN,
                                                            description=_TIME_REQUEST_DESCRIPTION)] = None
                  ) -> Response:
    """Signed commands for this gateway (device token of this gateway); verify each with
    ``protocols.commands.verify_command`` in order. A gateway not sent a ``time`` command within
    ``downlink.time_interval_s`` — or polling with ``clock=untrusted``, at most once per 5 s — gets one, signed
    now, ahead of the commands it has not accepted yet (which are then re-issued behind it under new counters).
    Asking matters after a restart without NTP: until a time command arrives the gateway refuses every other
    command and no one can enter a confined space."""
    state = request.app.state
    sync = TimeSync.from_settings(settings.downlink, clock=state.clock, keystore=state.keystore)
    commands = commands_for_poll(db, database=state.database, gateway_id=gateway.id, after=after, now=now,
                                 sync=sync, clock_untrusted=clock == "untrusted", time_request=time_request)
    return Response(encode_poll(commands), media_type="application/json")
