"""Request and response bodies of the schedule API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from cloud.schedule.plan import Frequency
from cloud.schemas import Input, Output, body_examples


class PlanRequest(Input):
    model_config = body_examples(
        {"start": "2026-12-01", "end": "2026-12-31"},
        {"start": "2027-01-01", "end": "2027-03-31", "seed": 20270101, "sample_rate": 0.05})

    start: date = Field(examples=["2026-12-01"])
    end: date = Field(examples=["2026-12-31"])
    seed: int | None = Field(None, ge=0, le=2**62, description="omitted: drawn at random and stored with the run",
                             examples=[20270101])
    sample_rate: float | None = Field(None, ge=0, le=1, description='share of "general" enterprises to draw; '
                                      "omitted: the configured [schedule] sample_rate", examples=[0.05])


class PlanRunOut(Output):
    id: int
    period_start: date
    period_end: date
    seed: int
    sample_rate: float
    sampled: list[int]
    tasks: int
    created_by: int | None
    created_at: datetime


class FrequencySet(Input):
    model_config = body_examples({"frequency": "monthly"}, {"frequency": "general"})

    frequency: Frequency = Field(examples=["monthly"])


class FrequencyOut(Output):
    enterprise_id: int
    frequency: Frequency
    cancelled: int
    added: int


class PatrolTaskOut(Output):
    id: int
    enterprise_id: int
    district_id: int
    street_id: int
    grid_id: int
    officer_id: int | None
    start: date
    due: date
    status: str
    run_id: int | None
