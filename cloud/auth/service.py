"""Login and logout. Failed logins are stored per (username, client) so the throttle holds across workers."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cloud.audit.service import record
from cloud.auth.models import LoginAttempt, User
from cloud.auth.passwords import Passwords
from cloud.auth.roles import Principal
from cloud.auth.tokens import issue_token, revoke_token
from cloud.errors import TooManyRequests, Unauthorized
from cloud.settings import AuthSettings


def _recent_failures(db: Session, *, username: str, client: str, since: datetime) -> list[datetime]:
    return list(db.execute(
        select(LoginAttempt.at).where(LoginAttempt.username == username, LoginAttempt.client == client,
                                      LoginAttempt.at > since).order_by(LoginAttempt.at)
    ).scalars())


def login(db: Session, *, username: str, password: str, client: str, now: datetime, passwords: Passwords,
          settings: AuthSettings) -> tuple[str, datetime]:
    """Check the credentials and issue a bearer token; returns (token, expiry).

    The slow password check runs outside any transaction (on SQLite a write transaction holds the
    database's one write lock). Commits on failure too: the failed attempt, and at the limit the audit
    entry, must outlive the error.
    """
    username = username.strip().lower()
    window = timedelta(seconds=settings.login_window_seconds)
    limit = settings.login_max_failures
    failures = _recent_failures(db, username=username, client=client, since=now - window)
    if len(failures) >= limit:
        # Locked until enough failures leave the window to bring the count under the limit.
        release = failures[len(failures) - limit] + window
        raise TooManyRequests("too many failed logins; try again later",
                              retry_after=int((release - now).total_seconds()) + 1)
    user = db.execute(select(User).where(User.username == username)).scalar_one_or_none()
    stored_hash = user.password_hash if user is not None and user.active else None
    db.commit()
    # Verify even for an unknown or disabled user (against a decoy hash) so timing does not tell them apart.
    if not passwords.verify(stored_hash, password) or user is None or stored_hash is None:
        _record_failure(db, username=username, client=client, now=now, window=window, limit=limit,
                        user_id=user.id if user else None)
        db.commit()
        raise Unauthorized("wrong username or password")
    if passwords.needs_rehash(stored_hash):
        user.password_hash = passwords.hash(password)
    db.execute(delete(LoginAttempt).where(LoginAttempt.username == username, LoginAttempt.client == client))
    token, expires_at = issue_token(db, user=user, now=now, ttl_seconds=settings.token_ttl_seconds)
    record(db, actor=Principal(user.id, user.username, user.role, user.scope), action="auth.login", entity="user",
           entity_id=user.id, now=now, after={"client": client})
    return token, expires_at


def _record_failure(db: Session, *, username: str, client: str, now: datetime, window: timedelta, limit: int,
                    user_id: int | None) -> None:
    db.execute(delete(LoginAttempt).where(LoginAttempt.username == username, LoginAttempt.client == client,
                                          LoginAttempt.at <= now - window))
    db.add(LoginAttempt(username=username, client=client, at=now))
    db.flush()
    if len(_recent_failures(db, username=username, client=client, since=now - window)) == limit:
        record(db, actor=None, action="auth.login_throttled", entity="user", entity_id=user_id, now=now,
               after={"username": username, "client": client, "failures": limit})


def logout(db: Session, *, actor: Principal, token: str, now: datetime) -> None:
    revoke_token(db, token=token)
    record(db, actor=actor, action="auth.logout", entity="user", entity_id=actor.user_id, now=now)
