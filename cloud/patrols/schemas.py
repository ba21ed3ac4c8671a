"""Request and response bodies of the patrol-record API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, StringConstraints

from cloud.schemas import MAX_ID, Input, Output, body_examples

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
EXAMPLE_ID = "3f2b8c1e-6a4d-4f0e-9b7a-2c5d8e1f0a93"
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class CheckIn(Input):
    code: str = Field(min_length=1, max_length=64, examples=["exits"])
    result: Literal["ok", "problem", "not_applicable"] = Field(examples=["ok"])
    note: str = Field("", max_length=500, examples=["东侧通道堆放纸箱"])


class FindingIn(Input):
    description: str = Field(min_length=1, max_length=1000, examples=["东侧安全出口被货物堵塞"])
    severity: Literal["general", "major"] = Field(examples=["general"])  # 一般 / 重大


class PatrolRecordIn(Input):
    model_config = body_examples(
        {"id": EXAMPLE_ID, "task_id": 12, "enterprise_id": 7, "visited_at": "2026-12-03T09:30:00+08:00",
         "place": "厂区东侧仓库", "checklist": [{"code": "exits", "result": "problem", "note": "东侧通道堆放纸箱"},
                                             {"code": "extinguishers", "result": "ok"}],
         "photos": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
         "findings": [{"description": "东侧安全出口被货物堵塞", "severity": "general"}]},
        {"id": "0c7a4e52-1d9b-4b7e-8f31-5a6c2e9d4b10", "enterprise_id": 7,
         "visited_at": "2026-12-04T14:00:00+08:00", "place": "门店", "checklist": [], "photos": [], "findings": []})

    id: UUID = Field(description="made by the phone when the record is created (offline)", examples=[EXAMPLE_ID])
    task_id: int | None = Field(None, ge=1, le=MAX_ID, description="the patrol task; omitted for an ad hoc visit",
                                examples=[12])
    enterprise_id: int = Field(ge=1, le=MAX_ID, examples=[7])
    visited_at: AwareDatetime = Field(examples=["2026-12-03T09:30:00+08:00"])
    place: str = Field(min_length=1, max_length=300, examples=["厂区东侧仓库"])
    checklist: list[CheckIn] = Field(max_length=100)
    photos: list[Sha256] = Field(max_length=30, description="SHA-256 of photos in the photo store")
    findings: list[FindingIn] = Field(max_length=50)


class PatrolRecordOut(Output):
    id: str
    task_id: int | None
    enterprise_id: int
    grid_id: int
    officer_id: int | None
    visited_at: datetime
    place: str
    checklist: list[dict[str, str]]
    photos: list[str]
    findings: list[dict[str, str]]
    hazard_id: int | None
    received_at: datetime


class PatrolConflictOut(Output):
    id: int
    record_id: str
    grid_id: int
    sent_by: int | None
    body: dict[str, object]
    received_at: datetime
