"""Tables of access control: users (role and one scope), bearer tokens stored hashed, login attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.auth.roles import Role, Scope, ScopeKind
from cloud.db.base import Base, UtcDateTime, str_enum


class User(Base):
    __tablename__ = "users"
    __audit_exclude__ = frozenset({"password_hash"})

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    scope_kind: Mapped[ScopeKind] = mapped_column(str_enum(ScopeKind))
    # Exactly the column of scope_kind is set (none for the city): real foreign keys, so a scoped area or
    # enterprise cannot be deleted from under its users.
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id", ondelete="RESTRICT"), index=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("streets.id", ondelete="RESTRICT"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id", ondelete="RESTRICT"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id", ondelete="RESTRICT"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    @property
    def scope(self) -> Scope:
        ids = {ScopeKind.DISTRICT: self.district_id, ScopeKind.STREET: self.street_id,
               ScopeKind.GRID: self.grid_id, ScopeKind.ENTERPRISE: self.enterprise_id}
        return Scope(self.scope_kind, ids.get(self.scope_kind))

    def set_scope(self, scope: Scope) -> None:
        self.scope_kind = scope.kind
        self.district_id = scope.id if scope.kind is ScopeKind.DISTRICT else None
        self.street_id = scope.id if scope.kind is ScopeKind.STREET else None
        self.grid_id = scope.id if scope.kind is ScopeKind.GRID else None
        self.enterprise_id = scope.id if scope.kind is ScopeKind.ENTERPRISE else None


class AccessToken(Base):
    """An opaque bearer token; only its SHA-256 is stored, so a database leak yields no usable token."""

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class LoginAttempt(Base):
    """A failed login, kept in the database so the throttle holds across API workers: counted per account
    (``username``, for the growing delay) and per client address (``client``, for the per-address limit)."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_who", "username", "client", "at"),
                      Index("ix_login_attempts_client", "client", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
