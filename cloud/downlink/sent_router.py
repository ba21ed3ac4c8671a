"""HTTP endpoint for the people who look after a gateway: the commands the cloud sent it, each with what the
gateway reported of it (``command_result``, ``cloud.downlink.results``) — an acknowledgement refused while the
gas is present, a permit for a space the gateway does not have, a command it never answered."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import Field
from sqlalchemy import select

from cloud.db.paging import fetch_page
from cloud.deps import DbSession, Limit, Offset
from cloud.downlink.models import DownlinkCommand
from cloud.schemas import ERROR_RESPONSES, Output, Page, page_of
from cloud.scope import VisibleGateway
from protocols.commands import DOWN_CHANNEL

router = APIRouter(prefix="/api/v1", tags=["devices"], responses=ERROR_RESPONSES)


class SentCommandOut(Output):
    counter: int = Field(description="the gateway's down-channel counter")
    kind: str = Field(examples=["alarm_ack"])
    issued_at: datetime
    expires_at: datetime
    published_at: datetime | None = Field(description="published on MQTT (null: not yet, or fetched over HTTP)")
    result: str | None = Field(description="what the gateway reported (protocols/uplink.md §5.3: `applied`, "
                                           "`gas_present`, `replayed` …); null: nothing reported yet",
                               examples=["gas_present"])
    result_at: datetime | None = Field(description="when the gateway reported it (its clock)")
    verified: bool | None = Field(description="false: the gateway could not verify the signature, so the result "
                                              "is only about a command claiming this counter")


@router.get("/gateways/{gateway_id}/sent-commands", response_model=Page[SentCommandOut],
            responses={200: {"content": {"application/json": {"example": {
                "items": [{"counter": 7, "kind": "alarm_ack", "issued_at": "2026-05-04T09:01:30Z",
                           "expires_at": "2026-05-05T09:01:30Z", "published_at": "2026-05-04T09:01:30Z",
                           "result": "gas_present", "result_at": "2026-05-04T09:01:31Z", "verified": True}],
                "total": 1, "limit": 100, "offset": 0}}}}})
def list_sent_commands(gateway: VisibleGateway, db: DbSession,
                       kind: Annotated[str | None, Query(max_length=32, description="only this kind")] = None,
                       limit: Limit = 100, offset: Offset = 0) -> Response:
    """The down-channel commands the cloud holds for the gateway (kept until they expire), newest first, with
    the gateway's result of each."""
    stmt = select(DownlinkCommand).where(DownlinkCommand.gateway_id == gateway.id,
                                         DownlinkCommand.channel == DOWN_CHANNEL)
    if kind is not None:
        stmt = stmt.where(DownlinkCommand.kind == kind)
    rows, total = fetch_page(db, stmt, order_by=DownlinkCommand.counter.desc(), limit=limit, offset=offset)
    return page_of(SentCommandOut, rows, total=total, limit=limit, offset=offset)

