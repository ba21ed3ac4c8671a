"""Device tables: gateways with their enrolment codes, certificates and device tokens; padlocks; detectors.

A gateway's ``id`` is the gateway id of the wire protocols (it names MQTT topics and signed commands), chosen
when the gateway is registered. Padlocks and detectors carry their space's enterprise id (set by the service
from the space) so a scope filter is one comparison.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base, UtcDateTime, str_enum


class GatewayStatus(StrEnum):
    PENDING = "pending"  # registered, not enrolled yet
    ACTIVE = "active"
    REVOKED = "revoked"




class Gateway(Base):
    __tablename__ = "gateways"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    status: Mapped[GatewayStatus] = mapped_column(str_enum(GatewayStatus, length=16))
    # Bumped at every enrolment (re-provisioning): the uplink's seq restarts in a new epoch.
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    # The gateway's Ed25519 key (raw, hex) that signs gas attestations and padlock time sets.
    signing_key: Mapped[str | None] = mapped_column(String(64))
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EnrolmentCode(Base):
    """A one-time code a technician hands to a gateway; only its SHA-256 is stored."""

    __tablename__ = "enrolment_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway_id: Mapped[str] = mapped_column(ForeignKey("gateways.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class GatewayCertificate(Base):
    __tablename__ = "gateway_certificates"

    serial: Mapped[str] = mapped_column(String(40), primary_key=True)  # hex
    gateway_id: Mapped[str] = mapped_column(ForeignKey("gateways.id", ondelete="CASCADE"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the DER, hex
    pem: Mapped[str] = mapped_column(Text)
    not_before: Mapped[datetime] = mapped_column(UtcDateTime)
    not_after: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(String(200))


class DeviceToken(Base):
    """A gateway's HTTP bearer token; only its SHA-256 is stored. Replaced at every enrolment."""

    __tablename__ = "device_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway_id: Mapped[str] = mapped_column(ForeignKey("gateways.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Padlock(Base):
    __tablename__ = "padlocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    lock_id: Mapped[str] = mapped_column(String(16), unique=True)  # 8 bytes, lowercase hex
    label: Mapped[str] = mapped_column(String(64))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="RESTRICT"), index=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("confined_spaces.id", ondelete="RESTRICT"), index=True)
    gateway_id: Mapped[str | None] = mapped_column(ForeignKey("gateways.id", ondelete="SET NULL"), index=True)
    public_key: Mapped[str] = mapped_column(String(64))  # the lock's Ed25519 audit-signing key, raw hex
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Detector(Base):
    __tablename__ = "detectors"
    __table_args__ = (UniqueConstraint("gateway_id", "bus", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(64))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="RESTRICT"), index=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("confined_spaces.id", ondelete="RESTRICT"), index=True)
    gateway_id: Mapped[str | None] = mapped_column(ForeignKey("gateways.id", ondelete="SET NULL"), index=True)
    bus: Mapped[str] = mapped_column(String(64))  # the gateway's bus name (an RS-485 line or a Modbus TCP host)
    unit_id: Mapped[int] = mapped_column(Integer)  # Modbus unit 1..247
    profile: Mapped[str] = mapped_column(String(64))  # the register profile (protocols/profiles)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
