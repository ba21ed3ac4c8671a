"""Live operations as the API shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from cloud.alerts.schemas import AlertOut


class LiveReading(BaseModel):
    detector_id: str
    gas: str = Field(examples=["H2S"])
    value: float | None
    unit: str = Field(examples=["ppm"])
    flags: list[str]
    at: datetime
    age_s: int = Field(description="seconds between the reading and the request")


class LiveSessionOut(BaseModel):
    gateway_id: str
    session_id: str
    enterprise_id: int
    space_id: int | None
    space_key: str
    space_name: str | None
    state: str = Field(examples=["in_work"])
    permit_id: str | None
    entrants: int
    opened_at: datetime
    updated_at: datetime
    deadline_at: datetime | None
    remaining_s: int | None = Field(description="seconds to the deadline (negative: overtime)")
    overtime: bool
    readings: list[LiveReading] = Field(description="the newest value of each gas of the space's detectors")
    alarms: list[AlertOut] = Field(description="open alerts about this session or its space")
