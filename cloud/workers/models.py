"""The worker table: a person of an enterprise who may enter a confined space or watch over one."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base, JsonDoc, UtcDateTime


class Worker(Base):
    __tablename__ = "workers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The 16-byte id permit tokens carry (worker_id), hex; random, so it says nothing about the person.
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="RESTRICT"), index=True)
    # The user account the worker signs in with on the phone (fetches its own permit tokens).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    # The phone's Ed25519 public key (raw, hex): the holder key (cnf) of the worker's permit tokens.
    phone_key: Mapped[str | None] = mapped_column(String(64))
    training_valid_until: Mapped[date | None] = mapped_column(Date)  # confined-space safety training
    certificates: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc)  # [{kind, number, valid_until}]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
