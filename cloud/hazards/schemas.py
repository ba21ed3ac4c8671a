"""Hazards as the API shows them, and the bodies that report, step and configure them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from cloud.hazards.lifecycle import HazardState, Level, Mode, Severity, Step
from cloud.hazards.models import Source
from cloud.hazards.photos import SHA256_HEX
from cloud.registry.schemas import Uscc
from cloud.schemas import MAX_ID, Input, Output, body_examples

PhotoHash = Annotated[str, StringConstraints(pattern=SHA256_HEX)]
_PHOTO = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


class HazardReport(Input):
    model_config = body_examples(
        {"enterprise_id": 1, "source": "grid_patrol", "description": "有限空间入口未设警示标识",
         "severity": "general", "deadline": "2026-05-11T09:00:00+08:00", "photos": [_PHOTO]},
        {"uscc": "914403001922038216", "source": "public_report", "description": "群众反映：污水井无人看护作业",
         "severity": "major", "reporter_contact": "138 0000 0000"},
        {"enterprise_id": 1, "source": "iot_alert", "alert_id": 42, "description": "硫化氢二级报警后复查",
         "severity": "general"})

    enterprise_id: int | None = Field(None, ge=1, le=MAX_ID, description="the enterprise (or name it by `uscc`)")
    uscc: Uscc | None = Field(None, description="the enterprise by its unified social credit code (a public report "
                                                "names it so; routing by address comes later)")
    source: Source
    description: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    severity: Severity = Field(description="general (一般) or major (重大事故隐患: flagged for law enforcement at "
                                           "once)")
    deadline: AwareDatetime | None = Field(None, description="rectification deadline; after the report")
    photos: list[PhotoHash] = Field(default_factory=list, max_length=20,
                                    description="SHA-256 of photos uploaded to /hazard-photos")
    alert_id: int | None = Field(None, ge=1, le=MAX_ID, description="source iot_alert: the alert that opened it")
    reporter_contact: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        None, description="public report: the reporter's contact, shown only to supervisors of the scope")
    note: Annotated[str, StringConstraints(max_length=500)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> HazardReport:
        if (self.enterprise_id is None) == (self.uscc is None):
            raise ValueError("name the enterprise by exactly one of enterprise_id and uscc")
        if (self.source is Source.IOT_ALERT) != (self.alert_id is not None):
            raise ValueError("alert_id goes with source iot_alert, and only with it")
        if self.reporter_contact is not None and self.source is not Source.PUBLIC_REPORT:
            raise ValueError("reporter_contact belongs to a public report")
        return self


class HazardStep(Input):
    model_config = body_examples(
        {"step": "assign", "assignee": "某某街道应急办", "level": "street", "deadline": "2026-05-11T09:00:00+08:00",
         "note": "分拨街道应急办"},
        {"step": "rectify", "evidence_photos": [_PHOTO], "note": "已补设警示标识"},
        {"step": "verify", "note": "现场核查合格"},
        {"step": "close"})

    step: Step
    note: Annotated[str, StringConstraints(max_length=500)] | None = None
    deadline: AwareDatetime | None = Field(None, description="assign: the rectification deadline")
    assignee: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        None, description="assign: the street's emergency office or the department dispatched to")
    level: Level | None = Field(None, description="assign: the level it now sits at (default: one above grid)")
    evidence_photos: list[PhotoHash] = Field(default_factory=list, max_length=20,
                                             description="rectify: photos of the rectified site (required)")


class HazardOut(Output):
    id: int
    source: Source
    enterprise_id: int
    district_id: int
    street_id: int
    grid_id: int
    description: str
    severity: Severity
    state: HazardState
    mode: Mode = Field(description="combined (巡办结合) or separated (巡办分离), from the grid when reported")
    level: Level
    photos: list[str]
    evidence_photos: list[str]
    deadline: datetime | None
    assignee: str | None
    alert_id: int | None
    reporter_name: str
    reporter_contact: str | None = Field(description="public reports, for supervisors of the scope; else null")
    flagged_for_enforcement: bool
    flagged_for_enforcement_at: datetime | None
    reported_at: datetime
    updated_at: datetime


class HazardEventOut(Output):
    id: int
    step: str = Field(examples=["assign"])
    from_state: str | None
    to_state: str
    by_name: str
    at: datetime
    note: str | None


class GridMode(Input):
    model_config = body_examples({"mode": "separated"}, {"mode": "combined"})

    mode: Mode


class GridModeOut(Output):
    grid_id: int
    mode: Mode


class PhotoOut(Output):
    sha256: str
    media_type: str
    size: int
