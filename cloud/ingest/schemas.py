"""Ingestion as the API shows it (the batch endpoint itself speaks the uplink protocol's bytes)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from cloud.schemas import Output


class StreamOut(Output):
    gateway_id: str
    epoch: int
    watermark: int = Field(description="every seq 1..watermark is stored")
    gaps: list[list[int]] = Field(description="[first, last] ranges missing above the watermark (lowest 64)")
    records: int
    duplicates: int
    first_at: datetime
    last_at: datetime
