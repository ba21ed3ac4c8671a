"""Request and response bodies of the grid routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from cloud.grid.models import BindingRole
from cloud.registry.schemas import ImportRowError
from cloud.schemas import MAX_ID, Input, Output, body_examples


class BindingCreate(Input):
    model_config = body_examples({"user_id": 12, "role": "grid_officer"}, {"user_id": 40, "role": "other_force"})

    user_id: int = Field(ge=1, le=MAX_ID)
    role: BindingRole = Field(examples=["grid_officer"])


class BindingOut(Output):
    id: int
    grid_id: int
    user_id: int
    role: BindingRole


class GridBalanceOut(Output):
    grid_id: int
    code: str
    community: str | None = Field(description="社区, when the grid was placed in one (grid import)")
    area: str | None = Field(description="片区, when the grid is in one")
    enterprises: int
    officers: int = Field(description="users bound with the grid_officer role")
    per_officer: float | None = Field(description="enterprises per officer; null when no officer is bound")
    too_few_officers: bool = Field(description="fewer than 2 grid officers")
    too_many_officers: bool = Field(description="more than 3 grid officers")
    over_load: bool = Field(description="more enterprises per officer than the load (or enterprises, no officer)")


class BalanceOut(Output):
    load: int
    enterprises: int
    officers: int
    per_officer: float | None
    grids_over_load: int
    grids_outside_officer_rule: int
    officers_without_grid: list[str] = Field(description="grid officers scoped here that no binding names")
    grids: list[GridBalanceOut]


class BindingImportOut(Output):
    dry_run: bool
    officers: int = Field(description="officer bindings the table makes (made unless dry_run)")
    enterprises: int = Field(description="enterprises the table binds to its grids")
    problems: list[ImportRowError] = Field(description="every problem by row and column (dry run only: a real "
                                                       "import with problems is refused, 422)")


class ChangeOut(Output):
    at: datetime
    actor: str = Field(description="username of who made the change")
    action: str = Field(examples=["enterprise.update"])
    field: str = Field(examples=["address"])
    old: Any = Field(description="the value before (null when the enterprise was created)")
    new: Any


class SpaceGapOut(Output):
    enterprise_id: int
    enterprise_name: str
    space_id: int
    space_code: str
    space_name: str
    missing: list[str] = Field(description="of gateway, padlock, rescue_guidance", examples=[["padlock"]])


class LedgerRowOut(Output):
    grid_code: str
    enterprise_id: int
    uscc: str
    enterprise_name: str
    space_id: int
    space_code: str
    space_name: str
    space_type: str
    location: str
    hazards: list[str]
    gas_profile: str
    watched: bool = Field(description="a detector in the space is wired to an active gateway")
    padlocked: bool
    rescue_guidance: bool


class SpaceImportOut(Output):
    dry_run: bool
    created: int = Field(description="spaces stored (0 on a dry run)")
    ids: list[int]
    valid: int = Field(description="rows that would be (or were) stored")
    problems: list[ImportRowError] = Field(description="every problem by row and column (dry run only)")


class GridImportOut(Output):
    dry_run: bool
    created: int = Field(description="grids created (0 on a dry run)")
    ids: list[int]
    valid: int = Field(description="rows that would be (or were) created")
    problems: list[ImportRowError] = Field(description="every problem by row and column (dry run only)")
