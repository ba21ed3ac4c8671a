"""Request and response bodies of the device registry and of gateway enrolment."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field, StringConstraints

from cloud.devices.models import GatewayStatus
from cloud.registry.schemas import Label, Name
from cloud.schemas import MAX_ID, Input, Output, Patch, body_examples
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

#: Example keys and CSR of the OpenAPI examples: real ones (the models check keys are Ed25519 points).
_EXAMPLE_SIGNING_KEY = "a7b5bd5eb99bc54d242b1329a04d14fad76624d97b974b043c1ea8541787a4a0"
_EXAMPLE_LOCK_KEY = "eb826151c5aef00f5c90aeabb46b94b5de4e3ccc359ab56e868adb0cfe78feaa"
_EXAMPLE_CSR = """-----BEGIN CERTIFICATE REQUEST-----
MIHLMHQCAQAwEjEQMA4GA1UEAwwHZ3ctMDAwMTBZMBMGByqGSM49AgEGCCqGSM49
AwEHA0IABMtSrjgJUQz4OuPJFH7MZDZtn6PYf5LyMb9oP0eTmklf5pU17hkS8h9d
Omz6y93p2fJLB1WsL+VUdHAgE7p41yqgADAKBggqhkjOPQQDAgNHADBEAiByQCSB
RJz+BXL0Lq3hToG3YkJoeoaYdZfCeUL2wUMnOQIgEL2JQr8JvQWOHS/VZOCj1vno
K5Ypk43R9HvizVEeABg=
-----END CERTIFICATE REQUEST-----
"""


class DeviceStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


# --- gateways ------------------------------------------------------------------------------------------


class GatewayCreate(Input):
    model_config = body_examples({"id": "gw-0001", "enterprise_id": 12, "name": "1号车间网关"})

    id: GatewayId = Field(examples=["gw-0001"], description="the gateway id of its topics and commands")
    enterprise_id: int = Field(ge=1, le=MAX_ID)
    name: Name = Field(examples=["1号车间网关"])


class GatewayUpdate(Patch):
    model_config = body_examples({"name": "污水处理站网关"})

    name: Name | None = Field(None, examples=["污水处理站网关"])


class GatewayOut(Output):
    id: str
    enterprise_id: int
    name: str
    status: GatewayStatus = Field(description="pending (not enrolled yet), active, revoked")
    epoch: int = Field(description="bumped at every enrolment; the uplink's seq restarts in a new epoch")
    signing_key: str | None
    last_seen_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EnrolmentCodeIn(Input):
    model_config = body_examples({"ttl_minutes": 60}, {"ttl_minutes": 24 * 60})

    ttl_minutes: int = Field(60, ge=5, le=24 * 60, description="how long the code stays usable", examples=[60])


class EnrolmentCodeOut(Output):
    gateway_id: str
    code: str = Field(description="shown once; give it to the gateway (one use)", examples=["sge_3nq..."])
    expires_at: datetime


class EnrolmentIn(Input):
    model_config = body_examples({"gateway_id": "gw-0001", "code": "sge_sytZLjLkffsWp8CK2WQGzSM3c8gBS48I",
                                  "csr_pem": _EXAMPLE_CSR, "signing_key": _EXAMPLE_SIGNING_KEY})

    gateway_id: GatewayId = Field(examples=["gw-0001"])
    code: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        examples=["sge_sytZLjLkffsWp8CK2WQGzSM3c8gBS48I"], description="the one-time enrolment code")
    csr_pem: Annotated[str, StringConstraints(min_length=1, max_length=16_384)] = Field(
        description="PKCS#10 CSR (PEM) of the gateway's TLS key: EC P-256/P-384, Ed25519 or RSA ≥ 2048",
        examples=[_EXAMPLE_CSR])
    signing_key: PublicKeyHex = Field(description="the gateway's Ed25519 key signing gas attestations and "
                                                  "padlock time sets (raw, hex)", examples=[_EXAMPLE_SIGNING_KEY])


class EnrolmentOut(Output):
    gateway_id: str
    epoch: int
    certificate_pem: str = Field(description="client certificate, CN = gateway id")
    ca_pem: str = Field(description="the CA that signs gateway certificates")
    device_token: str = Field(description="HTTP bearer token of this gateway; shown once")
    command_keys: dict[str, str] = Field(description="kid (hex) → Ed25519 public key (hex) of signed commands")
    issuer_keys: dict[str, str] = Field(description="kid (hex) → Ed25519 public key (hex) of permit tokens")


class RevokeIn(Input):
    model_config = body_examples({"reason": "网关设备丢失"}, {"reason": "私钥可能泄露"})

    reason: Reason = Field("", examples=["网关设备丢失"])


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
    model_config = body_examples({"lock_id": "a1b2c3d4e5f60718", "label": "PL-0001", "space_id": 21,
                                  "gateway_id": "gw-0001", "public_key": _EXAMPLE_LOCK_KEY})

    lock_id: LockId = Field(examples=["a1b2c3d4e5f60718"], description="the lock's 8-byte id, hex")
    label: Label = Field(examples=["PL-0001"])
    space_id: int = Field(ge=1, le=MAX_ID)
    gateway_id: GatewayId | None = None
    public_key: PublicKeyHex = Field(description="the lock's Ed25519 audit-signing key (raw, hex)",
                                     examples=[_EXAMPLE_LOCK_KEY])


class PadlockUpdate(Patch):
    model_config = body_examples({"label": "PL-0002", "space_id": 22}, {"status": "disabled"}, {"gateway_id": None})

    label: Label | None = Field(None, examples=["PL-0002"])
    space_id: int | None = Field(None, ge=1, le=MAX_ID, examples=[22])
    gateway_id: GatewayId | None = Field(None, examples=["gw-0001"])
    status: DeviceStatus | None = Field(None, examples=["disabled"])
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
    model_config = body_examples({"label": "GD-0001", "space_id": 21, "gateway_id": "gw-0001", "bus": "rs485-1",
                                  "unit_id": 1, "profile": "generic-4gas"})

    label: Label = Field(examples=["GD-0001"])
    space_id: int = Field(ge=1, le=MAX_ID)
    gateway_id: GatewayId | None = None
    bus: Label = Field(examples=["rs485-1"], description="the gateway's bus (a serial line or a Modbus TCP host)")
    unit_id: int = Field(ge=1, le=247, description="Modbus unit id", examples=[1])
    profile: Label = Field(examples=["generic-4gas"], description="the detector's register profile")


class DetectorUpdate(Patch):
    model_config = body_examples({"bus": "rs485-2", "unit_id": 3}, {"status": "disabled"}, {"gateway_id": None})

    label: Label | None = Field(None, examples=["GD-0002"])
    space_id: int | None = Field(None, ge=1, le=MAX_ID, examples=[22])
    gateway_id: GatewayId | None = Field(None, examples=["gw-0001"])
    bus: Label | None = Field(None, examples=["rs485-2"])
    unit_id: int | None = Field(None, ge=1, le=247, examples=[3])
    profile: Label | None = Field(None, examples=["generic-4gas"])
    status: DeviceStatus | None = Field(None, examples=["disabled"])
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
