"""Request and response bodies of the registries. Ancestor ids (an enterprise's district and street) are
outputs only: clients name the parent, the service derives the rest."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Field, StringConstraints

from cloud.registry.uscc import uscc_problem
from cloud.schemas import MAX_ID, Input, Output, Patch, body_examples

Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Text100 = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Text300 = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Note300 = Annotated[str, StringConstraints(max_length=300)]
Note2000 = Annotated[str, StringConstraints(max_length=2000)]


def _valid_uscc(value: str) -> str:
    value = value.upper()
    problem = uscc_problem(value)
    if problem:
        raise ValueError(f"not a valid unified social credit code: {problem}")
    return value


Uscc = Annotated[str, StringConstraints(strip_whitespace=True, max_length=18), AfterValidator(_valid_uscc)]


class Scale(StrEnum):
    LARGE = "large"
    MEDIUM = "medium"
    SMALL = "small"
    MICRO = "micro"


class SpaceType(StrEnum):
    """The three classes of confined space in Chinese practice."""

    CLOSED_EQUIPMENT = "closed_equipment"  # 密闭设备: tanks, vessels, boilers, pipelines
    UNDERGROUND = "underground"  # 地下有限空间: sumps, sewers, pits, wells, tunnels
    ABOVE_GROUND = "above_ground"  # 地上有限空间: silos, fermentation tanks, storage rooms


class Hazard(StrEnum):
    OXYGEN_DEFICIENCY = "oxygen_deficiency"
    TOXIC_GAS = "toxic_gas"
    FLAMMABLE_GAS = "flammable_gas"
    DROWNING = "drowning"
    ENGULFMENT = "engulfment"
    ELECTRIC_SHOCK = "electric_shock"
    MECHANICAL = "mechanical"
    HEAT = "heat"
    FALL = "fall"


# --- areas ---------------------------------------------------------------------------------------------

class DistrictCreate(Input):
    model_config = body_examples({"code": "440310", "name": "坪山区"})

    code: Code = Field(examples=["440310"])
    name: Name = Field(examples=["坪山区"])


class DistrictUpdate(Patch):
    model_config = body_examples({"name": "坪山新区"}, {"code": "440310", "name": "坪山区"})

    code: Code | None = Field(None, examples=["440310"])
    name: Name | None = Field(None, examples=["坪山区"])


class DistrictOut(Output):
    id: int
    code: str
    name: str


class StreetCreate(Input):
    model_config = body_examples({"district_id": 3, "code": "440310-01", "name": "坑梓街道"})

    district_id: int = Field(ge=1, le=MAX_ID)
    code: Code = Field(examples=["440310-01"])
    name: Name = Field(examples=["坑梓街道"])


class StreetUpdate(DistrictUpdate):
    model_config = body_examples({"name": "坑梓街道"}, {"code": "440310-02", "name": "龙田街道"})

    code: Code | None = Field(None, examples=["440310-01"])
    name: Name | None = Field(None, examples=["坑梓街道"])


class StreetOut(DistrictOut):
    district_id: int


class GridCreate(Input):
    model_config = body_examples({"street_id": 7, "code": "440310-01-007", "name": "第七网格"})

    street_id: int = Field(ge=1, le=MAX_ID)
    code: Code = Field(examples=["440310-01-007"])
    name: Name = Field(examples=["第七网格"])


class GridUpdate(DistrictUpdate):
    model_config = body_examples({"name": "第七网格（秀新社区）"}, {"code": "440310-01-008", "name": "第八网格"})

    code: Code | None = Field(None, examples=["440310-01-007"])
    name: Name | None = Field(None, examples=["第七网格"])


class GridOut(StreetOut):
    street_id: int


# --- enterprises ---------------------------------------------------------------------------------------

class EnterpriseFields(Input):
    name: Text200 = Field(examples=["深圳市某某五金制品有限公司"])
    industry: Text100 = Field(examples=["C33 金属制品业"])
    address: Text300 = Field(examples=["坑梓街道某路 8 号"])
    scale: Scale
    hazardous_chemicals: bool = Field(False, description="stores or uses hazardous chemicals")
    dangerous_processes: list[Label] = Field(default_factory=list, max_length=32,
                                             description="dangerous processes in use (重点监管危险工艺)")


class EnterpriseIdentity(EnterpriseFields):
    uscc: Uscc = Field(examples=["914403001922038216"])


class EnterpriseCreate(EnterpriseIdentity):
    model_config = body_examples(
        {"uscc": "914403001922038216", "grid_id": 42, "name": "深圳市某某五金制品有限公司",
         "industry": "C33 金属制品业", "address": "坑梓街道某路 8 号", "scale": "small",
         "hazardous_chemicals": False, "dangerous_processes": []},
        {"uscc": "91440310MA5G7K2P0U", "grid_id": 42, "name": "深圳市某某化工有限公司",
         "industry": "C26 化学原料和化学制品制造业", "address": "坑梓街道某工业区 3 栋", "scale": "medium",
         "hazardous_chemicals": True, "dangerous_processes": ["氯化工艺"]})

    grid_id: int = Field(ge=1, le=MAX_ID,
                         description="the grid the enterprise belongs to; district and street follow from it")


class EnterpriseUpdate(Patch):
    model_config = body_examples(
        {"address": "坑梓街道某路 18 号", "scale": "medium"},
        {"hazardous_chemicals": True, "dangerous_processes": ["氯化工艺"]},
        {"uscc": "91440310MA5FXN3Q4C", "grid_id": 43})

    uscc: Uscc | None = Field(None, examples=["91440310MA5FXN3Q4C"])
    grid_id: int | None = Field(None, ge=1, le=MAX_ID, examples=[43])
    name: Text200 | None = Field(None, examples=["深圳市某某五金制品有限公司"])
    industry: Text100 | None = Field(None, examples=["C33 金属制品业"])
    address: Text300 | None = Field(None, examples=["坑梓街道某路 18 号"])
    scale: Scale | None = Field(None, examples=["medium"])
    hazardous_chemicals: bool | None = Field(None, examples=[True])
    dangerous_processes: list[Label] | None = Field(None, max_length=32, examples=[["氯化工艺"]])

    # An enterprise's own users may not move it to another grid nor change its identity.
    regulator_only: ClassVar[frozenset[str]] = frozenset({"uscc", "grid_id"})


class EnterpriseOut(Output):
    id: int
    uscc: str
    name: str
    industry: str
    address: str
    district_id: int
    street_id: int
    grid_id: int
    scale: Scale
    hazardous_chemicals: bool
    dangerous_processes: list[str]
    created_at: datetime
    updated_at: datetime


class ImportRowError(Output):
    row: int = Field(description="1-based row number in the file, the header being row 1")
    field: str | None
    message: str


class ImportResult(Output):
    created: int
    ids: list[int]


# --- confined spaces -----------------------------------------------------------------------------------

class EmergencyContact(Input):
    name: Name
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 -]{2,30}$")] = Field(examples=["0755-12345678"])
    role: Annotated[str, StringConstraints(max_length=64)] = ""


class SpaceFields(Input):
    name: Text200 = Field(examples=["1号污水池"])
    space_type: SpaceType
    location: Note300 = ""
    hazards: list[Hazard] = Field(min_length=1, max_length=len(Hazard), examples=[["toxic_gas", "oxygen_deficiency"]])
    padlock_ids: list[Label] = Field(default_factory=list, max_length=16, examples=[["PL-0001"]])
    detector_ids: list[Label] = Field(default_factory=list, max_length=16, examples=[["GD-0001"]])
    gas_profile: Label = Field(description="the gas-detector register profile used for the space's detectors",
                               examples=["generic-4gas"])
    siren_id: Label | None = None
    isolation_points: list[Text200] = Field(
        default_factory=list, max_length=32)
    rescue_equipment: list[Text200] = Field(
        default_factory=list, max_length=32, examples=[["三脚架", "正压式空气呼吸器"]])
    emergency_contacts: list[EmergencyContact] = Field(default_factory=list, max_length=16)
    rescue_notes: Note2000 = ""


class SpaceCreate(SpaceFields):
    model_config = body_examples(
        {"enterprise_id": 12, "code": "CS-01", "name": "1号污水池", "space_type": "underground",
         "location": "污水处理站东侧", "hazards": ["toxic_gas", "oxygen_deficiency", "drowning"],
         "padlock_ids": ["PL-0001"], "detector_ids": ["GD-0001"], "gas_profile": "generic-4gas", "siren_id": "SR-01",
         "isolation_points": ["进水阀 V-101", "提升泵 P-1 电源"], "rescue_equipment": ["三脚架", "正压式空气呼吸器"],
         "emergency_contacts": [{"name": "王刚", "phone": "0755-12345678", "role": "安全主任"}],
         "rescue_notes": "池深 4 米，人孔直径 0.7 米；救援人员佩戴正压式空气呼吸器"})

    enterprise_id: int = Field(ge=1, le=MAX_ID)
    code: Code = Field(examples=["CS-01"])


class SpaceUpdate(Patch):
    model_config = body_examples(
        {"hazards": ["toxic_gas", "oxygen_deficiency", "flammable_gas"], "detector_ids": ["GD-0001", "GD-0002"]},
        {"siren_id": None},
        {"emergency_contacts": [{"name": "王刚", "phone": "0755-12345678", "role": "安全主任"},
                                {"name": "坑梓消防站", "phone": "119", "role": "消防"}]})

    code: Code | None = Field(None, examples=["CS-01"])
    name: Text200 | None = Field(None, examples=["1号污水池"])
    space_type: SpaceType | None = Field(None, examples=["underground"])
    location: Note300 | None = Field(None, examples=["污水处理站东侧"])
    hazards: list[Hazard] | None = Field(None, min_length=1, max_length=len(Hazard),
                                         examples=[["toxic_gas", "oxygen_deficiency"]])
    padlock_ids: list[Label] | None = Field(None, max_length=16, examples=[["PL-0001"]])
    detector_ids: list[Label] | None = Field(None, max_length=16, examples=[["GD-0001", "GD-0002"]])
    gas_profile: Label | None = Field(None, examples=["generic-4gas"])
    siren_id: Label | None = Field(None, examples=["SR-01"], description="null: the space has no siren")
    isolation_points: list[Text200] | None = Field(
        None, max_length=32, examples=[["进水阀 V-101"]])
    rescue_equipment: list[Text200] | None = Field(
        None, max_length=32, examples=[["三脚架", "正压式空气呼吸器"]])
    emergency_contacts: list[EmergencyContact] | None = Field(None, max_length=16)
    rescue_notes: Note2000 | None = Field(None, examples=["池深 4 米，人孔直径 0.7 米"])

    nullable: ClassVar[frozenset[str]] = frozenset({"siren_id"})


class RescueCard(Output):
    """What a rescuer needs about a space; attached to every alarm about it."""

    hazards: list[Hazard]
    isolation_points: list[str]
    rescue_equipment: list[str]
    emergency_contacts: list[dict[str, Any]]
    rescue_notes: str


class SpaceOut(Output):
    id: int
    enterprise_id: int
    code: str
    name: str
    space_type: SpaceType
    location: str
    hazards: list[Hazard]
    padlock_ids: list[str]
    detector_ids: list[str]
    gas_profile: str
    siren_id: str | None
    rescue_card: RescueCard
    created_at: datetime
    updated_at: datetime
