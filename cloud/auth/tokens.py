"""Opaque bearer tokens: random, shown once, stored as SHA-256, valid until their expiry."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cloud.auth.models import AccessToken, User

PREFIX = "sgc_"  # lets secret scanners recognise a leaked token


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(db: Session, *, user: User, now: datetime, ttl_seconds: int) -> tuple[str, datetime]:
    """Store a new token for ``user`` and return it (the only time it exists in clear) with its expiry."""
    token = PREFIX + secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=ttl_seconds)
    db.execute(delete(AccessToken).where(AccessToken.user_id == user.id, AccessToken.expires_at <= now))
    db.add(AccessToken(token_hash=token_digest(token), user_id=user.id, created_at=now, expires_at=expires_at))
    return token, expires_at


def user_for_token(db: Session, *, token: str, now: datetime) -> User | None:
    """The active user a presented token belongs to, or ``None`` if unknown, expired or the user is disabled."""
    if not token.startswith(PREFIX) or len(token) > 128:
        return None
    row = db.execute(
        select(User).join(AccessToken, AccessToken.user_id == User.id)
        .where(AccessToken.token_hash == token_digest(token), AccessToken.expires_at > now, User.active.is_(True))
    ).scalar_one_or_none()
    return row


def revoke_token(db: Session, *, token: str) -> None:
    db.execute(delete(AccessToken).where(AccessToken.token_hash == token_digest(token)))


def revoke_all(db: Session, *, user_id: int, keep: str | None = None) -> None:
    """Revoke every token of a user (password change, deactivation), except ``keep`` if given."""
    stmt = delete(AccessToken).where(AccessToken.user_id == user_id)
    if keep is not None:
        stmt = stmt.where(AccessToken.token_hash != token_digest(keep))
    db.execute(stmt)
