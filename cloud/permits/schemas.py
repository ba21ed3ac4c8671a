"""Request and response bodies of permits: the application with its checklists, decisions, the pre-entry
confirmation (登记报备), the permit as shown, and the worker's token."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from cloud.keys.service import MAX_WINDOW
from cloud.registry.schemas import Hazard, Label, RescueCard, Text200
from cloud.schemas import MAX_ID, Input, Output, body_examples

Note500 = Annotated[str, StringConstraints(max_length=500)]
Text2000 = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class PermitKind(StrEnum):
    OPERATION = "operation"
    DRILL = "drill"  # 演练: an exercise, handled like real work, reported apart


class PermitStatus(StrEnum):
    APPLIED = "applied"  # waits for the enterprise's approver
    AWAITING_REGULATOR = "awaiting_regulator"  # high-risk: the enterprise approved, the regulator has not yet
    APPROVED = "approved"  # tokens issued, pushed to the gateways
    REFUSED = "refused"
    REVOKED = "revoked"


class RiskItem(Input):
    hazard: Hazard
    measures: Text200 = Field(examples=["连续机械通风，作业前检测"])


class PermitApply(Input):
    model_config = body_examples(
        {"space_id": 21, "kind": "operation", "work_start": "2026-05-04T09:30:00+08:00",
         "work_end": "2026-05-04T13:30:00+08:00", "max_continuous_minutes": 45, "entrant_limit": 2,
         "gas_test_required": True, "ventilation_required": True, "high_risk": False, "attendant_id": 8,
         "entrant_ids": [5, 6], "required_certificates": ["confined_space_operation"],
         "risk_identification": [{"hazard": "toxic_gas", "measures": "连续机械通风，作业前检测"},
                                 {"hazard": "oxygen_deficiency", "measures": "佩戴正压式空气呼吸器，连续监测氧含量"}],
         "isolation": ["关闭进水阀并挂牌上锁"], "ventilation": "轴流风机强制通风 30 分钟后进入，作业中持续通风",
         "ppe": ["正压式空气呼吸器", "安全带"], "rescue_plan": "三脚架+救援绞盘，监护人呼叫 119 并启动应急预案"})

    space_id: int = Field(ge=1, le=MAX_ID)
    kind: PermitKind = PermitKind.OPERATION
    work_start: AwareDatetime = Field(examples=["2026-05-04T09:30:00+08:00"])
    work_end: AwareDatetime = Field(examples=["2026-05-04T13:30:00+08:00"])
    max_continuous_minutes: int = Field(60, ge=1, le=24 * 60, description="longest continuous stay inside")
    entrant_limit: int | None = Field(None, ge=1, le=255, description="people inside at once (default: all entrants)")
    gas_test_required: bool = Field(True, description="the padlock demands a fresh gas attestation to open")
    ventilation_required: bool = False
    high_risk: bool = Field(False, description="needs the regulator's approval too (always so for an enterprise "
                                               "handling hazardous chemicals)")
    attendant_id: int = Field(ge=1, le=MAX_ID, description="the worker who watches over the work (监护人)")
    entrant_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(min_length=1, max_length=16)
    required_certificates: list[Label] = Field(default_factory=list, max_length=8,
                                               examples=[["confined_space_operation"]],
                                               description="certificate kinds every entrant must hold, valid "
                                                           "through the work window")
    risk_identification: list[RiskItem] = Field(min_length=1, max_length=32)
    isolation: list[Text200] = Field(default_factory=list, max_length=32, examples=[["关闭进水阀并挂牌上锁"]])
    ventilation: Note500 = ""
    ppe: list[Label] = Field(min_length=1, max_length=32, examples=[["正压式空气呼吸器", "安全带"]])
    rescue_plan: Text2000 = Field(examples=["三脚架+救援绞盘，监护人呼叫 119 并启动应急预案"])

    @model_validator(mode="after")
    def _consistent(self) -> PermitApply:
        if self.work_end <= self.work_start:
            raise ValueError("work_end must be after work_start")
        if self.work_end - self.work_start > MAX_WINDOW:
            raise ValueError(f"a work window lasts at most {MAX_WINDOW // timedelta(hours=1)} hours")
        if len(set(self.entrant_ids)) != len(self.entrant_ids):
            raise ValueError("entrant_ids must be distinct")
        if self.attendant_id in self.entrant_ids:
            raise ValueError("the attendant stays outside: not also an entrant")
        if self.entrant_limit is not None and self.entrant_limit > len(self.entrant_ids):
            raise ValueError("entrant_limit cannot exceed the number of entrants")
        return self


class DecisionIn(Input):
    model_config = body_examples({"note": "同意作业，严格执行先通风、再检测、后作业"}, {})

    note: Note500 = Field("", examples=["同意作业，严格执行先通风、再检测、后作业"])


class RefuseIn(Input):
    model_config = body_examples({"reason": "救援方案未配备救援绞盘，请补充后重新申请"},
                                 {"reason": "上游排水，作业条件变化，停止作业"})

    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)] = Field(
        examples=["救援方案未配备救援绞盘，请补充后重新申请"])


class GasReading(Input):
    gas: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.+-]{1,16}$")] = Field(examples=["O2"])
    value: float = Field(allow_inf_nan=False, examples=[20.9])
    unit: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9%/._-]{1,16}$")] = Field(examples=["%VOL"])


class PreEntryIn(Input):
    """The attendant's confirmation of the safety conditions before entry; each item must be confirmed."""

    model_config = body_examples(
        {"gas_readings": [{"gas": "O2", "value": 20.9, "unit": "%VOL"}, {"gas": "H2S", "value": 0.0, "unit": "ppm"},
                          {"gas": "CO", "value": 2.0, "unit": "ppm"}, {"gas": "LEL", "value": 0.0, "unit": "%LEL"}],
         "tested_at": "2026-05-04T09:20:00+08:00", "isolation_confirmed": True, "ventilation_confirmed": True,
         "ppe_checked": True, "rescue_equipment_ready": True, "entrants_briefed": True,
         "note": "已进行安全交底，监护人在人孔处值守"})

    gas_readings: list[GasReading] = Field(min_length=1, max_length=16)
    tested_at: AwareDatetime = Field(examples=["2026-05-04T09:20:00+08:00"])
    isolation_confirmed: Literal[True]
    ventilation_confirmed: Literal[True]
    ppe_checked: Literal[True]
    rescue_equipment_ready: Literal[True]
    entrants_briefed: Literal[True]
    note: Note500 = Field("", examples=["已进行安全交底，监护人在人孔处值守"])


class ApprovalOut(Output):
    level: str
    decision: str
    by_name: str
    at: datetime
    note: str


class TokenInfo(Output):
    worker_id: int
    cti: str
    kid: str
    exp: int
    revoked_at: datetime | None


class PermitOut(Output):
    id: int
    uid: str = Field(description="the 16-byte permit id of tokens and commands, hex")
    enterprise_id: int
    space_id: int
    space_uid: str = Field(description="the 16-byte space id of tokens and gas attestations, hex")
    kind: PermitKind
    status: PermitStatus
    high_risk: bool
    work_start: datetime
    work_end: datetime
    max_continuous_minutes: int
    entrant_limit: int
    gas_test_required: bool
    ventilation_required: bool
    attendant_id: int
    entrant_ids: list[int]
    required_certificates: list[str]
    risk_identification: list[dict[str, Any]]
    isolation: list[str]
    ventilation: str
    ppe: list[str]
    rescue_plan: str
    pre_entry: dict[str, Any] | None
    reason: str | None
    rescue_card: RescueCard
    approvals: list[ApprovalOut]
    tokens: list[TokenInfo]
    created_at: datetime
    updated_at: datetime


class WorkerTokenOut(Output):
    permit_id: int
    permit_uid: str
    token: str = Field(description="the permit token (COSE_Sign1), base64url without padding")
    cti: str
    kid: str
    lock_ids: list[str]
    window_start: datetime
    window_end: datetime
    expires_at: datetime


class RevocationOut(Output):
    version: int
    space_id: int
    revoked: list[str]
    gateways: list[str]
