"""Request and response bodies of the worker registry."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints

from cloud.devices.schemas import PublicKeyHex
from cloud.registry.schemas import Label, Name
from cloud.schemas import MAX_ID, Input, Output, Patch

CertificateNumber = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class CertificateIn(Input):
    kind: Label = Field(examples=["confined_space_operation"], description="what the certificate qualifies for")
    number: CertificateNumber = Field(examples=["T440300198001011234"])
    valid_until: date


class WorkerCreate(Input):
    enterprise_id: int = Field(ge=1, le=MAX_ID)
    name: Name = Field(examples=["李强"])
    user_id: int | None = Field(None, ge=1, le=MAX_ID,
                                description="the worker's own user account (role worker or attendant)")
    phone_key: PublicKeyHex | None = Field(None, description="the phone's Ed25519 public key (raw, hex)")
    training_valid_until: date | None = Field(None, description="confined-space safety training valid until")
    certificates: list[CertificateIn] = Field(default_factory=list, max_length=16)


class WorkerUpdate(Patch):
    name: Name | None = None
    user_id: int | None = Field(None, ge=1, le=MAX_ID)
    phone_key: PublicKeyHex | None = None
    training_valid_until: date | None = None
    certificates: list[CertificateIn] | None = Field(None, max_length=16)
    active: bool | None = None
    nullable: ClassVar[frozenset[str]] = frozenset({"user_id", "phone_key", "training_valid_until"})


class PhoneKeyIn(Input):
    phone_key: PublicKeyHex


class WorkerOut(Output):
    id: int
    uid: str = Field(description="the 16-byte worker id carried in permit tokens, hex")
    enterprise_id: int
    user_id: int | None
    name: str
    phone_key: str | None
    training_valid_until: date | None
    certificates: list[dict[str, Any]]
    active: bool
    created_at: datetime
    updated_at: datetime
