"""Request and response bodies of login and user management.

Self-service bodies carry no role or scope at all: sending one is refused (422 naming it), which is how a
user is kept from raising its own rights (mass assignment).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, model_validator

from cloud.auth.passwords import MAX_LENGTH
from cloud.auth.roles import Role, ScopeKind
from cloud.schemas import MAX_ID, Input, Output, Patch, body_examples

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{2,63}$"


class LoginIn(Input):
    model_config = body_examples({"username": "li.wei", "password": "correct horse battery"})

    username: str = Field(min_length=1, max_length=64, examples=["li.wei"])
    password: str = Field(min_length=1, max_length=MAX_LENGTH, examples=["correct horse battery"])


class TokenOut(Output):
    access_token: str = Field(examples=["sgc_5rYq..."])
    token_type: str = "bearer"
    expires_at: datetime


class ScopeIn(Input):
    kind: ScopeKind = Field(examples=["district"])
    id: int | None = Field(None, ge=1, le=MAX_ID,
                           description="the district/street/grid/enterprise id; none for the city")

    @model_validator(mode="after")
    def _id_matches_kind(self) -> ScopeIn:
        if (self.kind is ScopeKind.CITY) != (self.id is None):
            raise ValueError("the city scope has no id; every other scope needs one")
        return self


class ScopeOut(Output):
    kind: ScopeKind
    id: int | None


class UserCreate(Input):
    model_config = body_examples(
        {"username": "zhang.min", "display_name": "张敏", "password": "correct horse battery", "role": "approver",
         "scope": {"kind": "enterprise", "id": 12}},
        {"username": "wang.fang", "display_name": "王芳", "password": "correct horse battery",
         "role": "district_supervisor", "scope": {"kind": "district", "id": 3}})

    username: str = Field(pattern=USERNAME_PATTERN, examples=["zhang.min"])
    display_name: str = Field(min_length=1, max_length=128, examples=["张敏"])
    password: str = Field(min_length=1, max_length=MAX_LENGTH)
    role: Role
    scope: ScopeIn


class UserAdminUpdate(Patch):
    """What a user manager may change on another user, within its own scope and grantable roles."""

    model_config = body_examples({"role": "attendant", "scope": {"kind": "enterprise", "id": 12}},
                                 {"active": False},
                                 {"display_name": "张敏（安全员）", "password": "staple battery horse"})

    display_name: str | None = Field(None, min_length=1, max_length=128, examples=["张敏"])
    role: Role | None = Field(None, examples=["attendant"])
    scope: ScopeIn | None = None
    active: bool | None = Field(None, examples=[False])
    password: str | None = Field(None, min_length=1, max_length=MAX_LENGTH, examples=["staple battery horse"])


class SelfUpdate(Patch):
    """What users may change on themselves: their display name and (proving the current one) their password."""

    model_config = body_examples({"display_name": "李伟"},
                                 {"current_password": "correct horse battery", "new_password": "staple battery horse"})

    display_name: str | None = Field(None, min_length=1, max_length=128, examples=["李伟"])
    current_password: str | None = Field(None, min_length=1, max_length=MAX_LENGTH, examples=["correct horse battery"])
    new_password: str | None = Field(None, min_length=1, max_length=MAX_LENGTH, examples=["staple battery horse"])


class UserOut(Output):
    id: int
    username: str
    display_name: str
    role: Role
    scope: ScopeOut
    active: bool
    created_at: datetime
    updated_at: datetime
