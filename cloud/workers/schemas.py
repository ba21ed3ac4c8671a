"""Request and response bodies of the worker registry."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints

from cloud.devices.schemas import PublicKeyHex
from cloud.registry.schemas import Label, Name
from cloud.schemas import MAX_ID, Input, Output, Patch, body_examples

CertificateNumber = Annotated[str, StringConstraints(min_length=1, max_length=64)]

#: A phone's Ed25519 public key for the examples: a real one (the models check it is a point of the curve).
_EXAMPLE_PHONE_KEY = "1816bbc18b48f75e0b021caa6c1f87cb83e8d3fc5a9654ed035addbf2ac7010d"


class CertificateIn(Input):
    kind: Label = Field(examples=["confined_space_operation"], description="what the certificate qualifies for")
    number: CertificateNumber = Field(examples=["T440300198001011234"])
    valid_until: date = Field(examples=["2028-06-30"])


class WorkerCreate(Input):
    model_config = body_examples(
        {"enterprise_id": 12, "name": "李强", "user_id": 57, "phone_key": _EXAMPLE_PHONE_KEY,
         "training_valid_until": "2027-03-31",
         "certificates": [{"kind": "confined_space_operation", "number": "T440300198001011234",
                           "valid_until": "2028-06-30"}]},
        {"enterprise_id": 12, "name": "陈刚"})

    enterprise_id: int = Field(ge=1, le=MAX_ID)
    name: Name = Field(examples=["李强"])
    user_id: int | None = Field(None, ge=1, le=MAX_ID,
                                description="the worker's own user account (role worker or attendant)")
    phone_key: PublicKeyHex | None = Field(None, description="the phone's Ed25519 public key (raw, hex)")
    training_valid_until: date | None = Field(None, description="confined-space safety training valid until")
    certificates: list[CertificateIn] = Field(default_factory=list, max_length=16)


class WorkerUpdate(Patch):
    model_config = body_examples(
        {"training_valid_until": "2028-03-31",
         "certificates": [{"kind": "confined_space_operation", "number": "T440300198001011234",
                           "valid_until": "2028-06-30"}]},
        {"phone_key": None},
        {"active": False})

    name: Name | None = Field(None, examples=["李强"])
    user_id: int | None = Field(None, ge=1, le=MAX_ID, examples=[57])
    phone_key: PublicKeyHex | None = Field(None, examples=[_EXAMPLE_PHONE_KEY])
    training_valid_until: date | None = Field(None, examples=["2028-03-31"])
    certificates: list[CertificateIn] | None = Field(None, max_length=16)
    active: bool | None = Field(None, examples=[False])
    nullable: ClassVar[frozenset[str]] = frozenset({"user_id", "phone_key", "training_valid_until"})


class PhoneKeyIn(Input):
    model_config = body_examples({"phone_key": _EXAMPLE_PHONE_KEY})

    phone_key: PublicKeyHex = Field(examples=[_EXAMPLE_PHONE_KEY], description="the phone's Ed25519 public key "
                                                                               "(raw, hex)")


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
