"""Permit tables: the permit with its checklists, its entrants, approvals, issued tokens, revocation lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base, JsonDoc, UtcDateTime


class Permit(Base):
    __tablename__ = "permits"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)  # the 16-byte permit id of tokens and commands, hex
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="RESTRICT"), index=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("confined_spaces.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # operation | drill
    status: Mapped[str] = mapped_column(String(24), index=True)
    high_risk: Mapped[bool] = mapped_column(Boolean)
    work_start: Mapped[datetime] = mapped_column(UtcDateTime)
    work_end: Mapped[datetime] = mapped_column(UtcDateTime)
    max_continuous_minutes: Mapped[int] = mapped_column(Integer)
    entrant_limit: Mapped[int] = mapped_column(Integer)
    gas_test_required: Mapped[bool] = mapped_column(Boolean)
    ventilation_required: Mapped[bool] = mapped_column(Boolean)
    attendant_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="RESTRICT"), index=True)
    entrant_ids: Mapped[list[int]] = mapped_column(JsonDoc)
    required_certificates: Mapped[list[str]] = mapped_column(JsonDoc)
    risk_identification: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc)
    isolation: Mapped[list[str]] = mapped_column(JsonDoc)
    ventilation: Mapped[str] = mapped_column(String(500))
    ppe: Mapped[list[str]] = mapped_column(JsonDoc)
    rescue_plan: Mapped[str] = mapped_column(String(2000))
    pre_entry: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)  # the 登记报备 confirmation
    applied_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(String(500))  # why it was refused or revoked
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PermitApproval(Base):
    __tablename__ = "permit_approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permits.id", ondelete="CASCADE"), index=True)
    level: Mapped[str] = mapped_column(String(16))  # enterprise | regulator
    decision: Mapped[str] = mapped_column(String(16))  # approved | refused
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    by_name: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    note: Mapped[str] = mapped_column(String(500))


class PermitToken(Base):
    """A permit token issued to one entrant; the bytes are kept so the worker's phone can fetch them."""

    __tablename__ = "permit_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permits.id", ondelete="CASCADE"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="RESTRICT"), index=True)
    cti: Mapped[str] = mapped_column(String(32), unique=True)  # token id, hex
    kid: Mapped[str] = mapped_column(String(32))
    iat: Mapped[int] = mapped_column(BigInteger)
    exp: Mapped[int] = mapped_column(BigInteger)
    token: Mapped[bytes] = mapped_column(LargeBinary)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RevocationListRecord(Base):
    """A signed revocation list pushed to a space's gateways: versions count per space, and the list names the
    padlocks it is addressed to (a padlock refuses any other list)."""

    __tablename__ = "revocation_lists"
    __table_args__ = (UniqueConstraint("space_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    space_id: Mapped[int] = mapped_column(ForeignKey("confined_spaces.id", ondelete="CASCADE"), index=True)
    issued_at: Mapped[int] = mapped_column(BigInteger)
    min_iat: Mapped[int] = mapped_column(BigInteger)
    revoked: Mapped[list[str]] = mapped_column(JsonDoc)
    lock_ids: Mapped[list[str]] = mapped_column(JsonDoc)  # hex, ascending
    signed: Mapped[bytes] = mapped_column(LargeBinary)
