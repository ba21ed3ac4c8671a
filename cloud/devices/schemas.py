"""Request and response bodies of the device registry and of gateway enrolment."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field, StringConstraints

from cloud.registry.schemas import Label, Name
from cloud.schemas import MAX_ID, Input, Output, Patch
from protocols import crypto
from protocols.errors import ProtocolError
from protocols.uplink.fields import GATEWAY_ID_PATTERN


def _ed25519_hex(value: str) -> str:
    value = value.lower()
    try:
        crypto.public_key_from_raw(bytes.fromhex(value))
    except (ValueError, ProtocolError) as exc:
        raise ValueError(f"not an Ed25519 public key: {exc}") from None
    return value


#: A raw Ed25519 public key as 64 hex digits.
PublicKeyHex = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$"), AfterValidator(_ed25519_hex)]
LockId = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{16}$"), AfterValidator(str.lower)]
GatewayId = Annotated[str, StringConstraints(pattern=GATEWAY_ID_PATTERN)]
Reason = Annotated[str, StringConstraints(max_length=200)]


class DeviceStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


# --- gateways ------------------------------------------------------------------------------------------


class GatewayCreate(Input):
    id: GatewayId = Field(examples=["gw-0001"], description="the gateway id of its topics and commands")
    enterprise_id: int = Field(ge=1, le=MAX_ID)
    name: Name = Field(examples=["1号车间网关"])


class GatewayUpdate(Patch):
    name: Name | None = None


class GatewayOut(Output):
    id: str
    enterprise_id: int
    name: str
    status: str = Field(description="pending (not enrolled yet), active, revoked")
    epoch: int = Field(description="bumped at every enrolment; the uplink's seq restarts in a new epoch")
    signing_key: str | None
    last_seen_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EnrolmentCodeIn(Input):
    ttl_minutes: int = Field(60, ge=5, le=24 * 60, description="how long the code stays usable")


class EnrolmentCodeOut(Output):
    gateway_id: str
    code: str = Field(description="shown once; give it to the gateway (one use)", examples=["sge_3nq..."])
    expires_at: datetime


class EnrolmentIn(Input):
    gateway_id: GatewayId
    code: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    csr_pem: Annotated[str, StringConstraints(min_length=1, max_length=16_384)] = Field(
        description="PKCS#10 CSR (PEM) of the gateway's TLS key: EC P-256/P-384, Ed25519 or RSA ≥ 2048")
    signing_key: PublicKeyHex = Field(description="the gateway's Ed25519 key signing gas attestations and "
                                                  "padlock time sets (raw, hex)")


class EnrolmentOut(Output):
    gateway_id: str
    epoch: int
    certificate_pem: str = Field(description="client certificate, CN = gateway id")
    ca_pem: str = Field(description="the CA that signs gateway certificates")
    device_token: str = Field(description="HTTP bearer token of this gateway; shown once")
    command_keys: dict[str, str] = Field(description="kid (hex) → Ed25519 public key (hex) of signed commands")
    issuer_keys: dict[str, str] = Field(description="kid (hex) → Ed25519 public key (hex) of permit tokens")


class RevokeIn(Input):
    reason: Reason = ""


class CertificateOut(Output):
    serial: str
    gateway_id: str
    fingerprint: str
    not_before: datetime
    not_after: datetime
    created_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None


class TrustListOut(Output):
    gateway_id: str
    version: int
    lock_ids: list[str]
    counter: int = Field(description="the down-channel counter of the trust_list_update command")


# --- padlocks and detectors ------------------------------------------------------------------------------


class PadlockCreate(Input):
    lock_id: LockId = Field(examples=["a1b2c3d4e5f60718"], description="the lock's 8-byte id, hex")
    label: Label = Field(examples=["PL-0001"])
    space_id: int = Field(ge=1, le=MAX_ID)
    gateway_id: GatewayId | None = None
    public_key: PublicKeyHex = Field(description="the lock's Ed25519 audit-signing key (raw, hex)")


class PadlockUpdate(Patch):
    label: Label | None = None
    space_id: int | None = Field(None, ge=1, le=MAX_ID)
    gateway_id: GatewayId | None = None
    status: DeviceStatus | None = None
    nullable: ClassVar[frozenset[str]] = frozenset({"gateway_id"})


class PadlockOut(Output):
    id: int
    lock_id: str
    label: str
    enterprise_id: int
    space_id: int
    gateway_id: str | None
    public_key: str
    status: str
    created_at: datetime
    updated_at: datetime


class DetectorCreate(Input):
    label: Label = Field(examples=["GD-0001"])
    space_id: int = Field(ge=1, le=MAX_ID)
    gateway_id: GatewayId | None = None
    bus: Label = Field(examples=["rs485-1"], description="the gateway's bus (a serial line or a Modbus TCP host)")
    unit_id: int = Field(ge=1, le=247, description="Modbus unit id")
    profile: Label = Field(examples=["generic-4gas"], description="the detector's register profile")


class DetectorUpdate(Patch):
    label: Label | None = None
    space_id: int | None = Field(None, ge=1, le=MAX_ID)
    gateway_id: GatewayId | None = None
    bus: Label | None = None
    unit_id: int | None = Field(None, ge=1, le=247)
    profile: Label | None = None
    status: DeviceStatus | None = None
    nullable: ClassVar[frozenset[str]] = frozenset({"gateway_id"})


class DetectorOut(Output):
    id: int
    label: str
    enterprise_id: int
    space_id: int
    gateway_id: str | None
    bus: str
    unit_id: int
    profile: str
    status: str
    created_at: datetime
    updated_at: datetime
