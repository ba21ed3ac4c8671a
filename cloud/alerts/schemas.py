"""Alerts as the API shows them, and the bodies of the lifecycle actions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from cloud.alerts.models import AlertKind, AlertState
from cloud.schemas import Input, Output, body_examples


class AlertOut(Output):
    id: int
    kind: AlertKind
    state: AlertState
    level: int = Field(description="1 warning, 2 danger")
    cause: str = Field(examples=["gas_level2"])
    title: str
    enterprise_id: int
    space_id: int | None
    gateway_id: str | None
    space_key: str | None = Field(description="the space as the gateway names it")
    alarm_id: str | None
    session_id: str | None
    permit_id: str | None
    detector_id: str | None
    data: dict[str, Any] = Field(description="the facts: the gateway's alarm record, or the rule's inputs")
    rescue_card: dict[str, Any] | None = Field(description="the space's rescue card when the alert was raised")
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    note: str | None
    refusal: dict[str, Any] | None = Field(
        None, description="the gateway refused the acknowledgement sent to it, so the alert is raised again: "
                          "`code` (protocols/uplink.md §5.3), `reason` (Chinese / English), `at`, the command's "
                          "`counter`, who had `acknowledged_by`; null once the alert moves on",
        examples=[{"code": "gas_present",
                   "reason": "网关拒绝确认：气体仍超标，恢复正常后再确认 / the gateway refused the acknowledgement: "
                             "gas still present; acknowledge again once it is back in range",
                   "at": "2026-05-04T09:01:31+00:00", "counter": 7, "acknowledged_by": "mgr1"}])
    updated_at: datetime


class AlertEventOut(Output):
    id: int = Field(description="feed position: ask for `after` the last one you saw")
    alert_id: int
    event: str = Field(examples=["raised"], description="raised, acknowledged, resolved, or ack_refused (the "
                                                        "gateway refused the acknowledgement: the alert is raised "
                                                        "again)")
    at: datetime
    actor: str
    code: str | None = Field(None, examples=["gas_present"], description="ack_refused: the gateway's result code")
    detail: str | None = Field(None, description="ack_refused: why, Chinese / English")
    alert: AlertOut


class AlertFeed(Output):
    items: list[AlertEventOut]
    next_after: int = Field(description="pass as `after` to get the events that follow")


class AlertAction(Input):
    model_config = body_examples({"note": "crew evacuated"}, {})

    note: Annotated[str, StringConstraints(max_length=300)] | None = Field(None, examples=["crew evacuated"])
