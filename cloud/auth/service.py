"""Login and logout, and the login throttle.

Failed logins are rows in the database (``login_attempts``), so the throttle holds across API workers and hosts.
Two limits, neither of which locks an account's owner out:

- per account: after ``login_free_failures`` failures within the window, each further attempt on that account
  must wait ``login_delay_seconds`` doubled per further failure, at most ``login_max_delay_seconds`` after the
  last failure (429 with Retry-After until then). An attacker gets a few guesses an hour per account; the owner
  waits at most the cap and logs in, which clears the account's failures.
- per client address: ``login_max_failures_per_client`` failures from one address (any accounts) within the
  window refuse that address until the window moves on: one address cannot spray many accounts. Behind a load
  balancer the address is the forwarded one only from ``api.trusted_proxies`` (``serve``).

Refusals by either limit cost no password hash. Hashing itself is bounded per process (:class:`HashSlots` in
``cloud.auth.passwords``): a request that finds every slot busy is answered 503 at once.

Two attempts racing on two workers may both pass the check before either records its failure; the hash bound
and the window make that a few extra guesses at most, not a way around the limits.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cloud.audit.service import record
from cloud.auth.models import LoginAttempt, User
from cloud.auth.passwords import Passwords
from cloud.auth.roles import Principal
from cloud.auth.tokens import issue_token, revoke_token
from cloud.errors import TooManyRequests, Unauthorized
from cloud.settings import AuthSettings

log = structlog.get_logger(__name__)


def account_delay(failures: int, settings: AuthSettings) -> float:
    """Seconds an attempt on an account must wait after its last failure, given its failures in the window."""
    if failures < settings.login_free_failures:
        return 0.0
    steps = failures - settings.login_free_failures
    return min(settings.login_max_delay_seconds, settings.login_delay_seconds * 2.0 ** min(steps, 60))


def _retry_after(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def _check_throttle(db: Session, *, username: str, client: str, now: datetime, settings: AuthSettings) -> None:
    since = now - timedelta(seconds=settings.login_window_seconds)
    from_client = list(db.execute(
        select(LoginAttempt.at).where(LoginAttempt.client == client, LoginAttempt.at > since)
        .order_by(LoginAttempt.at.desc()).limit(settings.login_max_failures_per_client)).scalars())
    if len(from_client) >= settings.login_max_failures_per_client:
        # Refused until the oldest of the newest `limit` failures leaves the window.
        release = from_client[-1] + timedelta(seconds=settings.login_window_seconds)
        log.warning("login_refused_client", client=client, username=username)
        raise TooManyRequests("too many failed logins from this address; try again later / 此地址登录失败次数过多",
                              retry_after=_retry_after((release - now).total_seconds()))
    count, last = db.execute(select(func.count(), func.max(LoginAttempt.at))
                             .where(LoginAttempt.username == username, LoginAttempt.at > since)).one()
    delay = account_delay(count, settings)
    ready = last + timedelta(seconds=delay) if last is not None else now
    if now < ready:
        log.info("login_delayed", username=username, client=client, failures=count)
        raise TooManyRequests("failed logins on this account: wait before the next attempt / "
                              "该账号登录失败, 请稍候再试", retry_after=_retry_after((ready - now).total_seconds()))


def login(db: Session, *, username: str, password: str, client: str, now: datetime, passwords: Passwords,
          settings: AuthSettings) -> tuple[str, datetime]:
    """Check the credentials and issue a bearer token; returns (token, expiry).

    The slow password check runs outside any transaction (on SQLite a write transaction holds the
    database's one write lock). Commits on failure too: the failed attempt and its audit entry must outlive
    the error.
    """
    username = username.strip().lower()
    _check_throttle(db, username=username, client=client, now=now, settings=settings)
    user = db.execute(select(User).where(User.username == username)).scalar_one_or_none()
    stored_hash = user.password_hash if user is not None and user.active else None
    db.commit()
    # Verify even for an unknown or disabled user (against a decoy hash) so timing does not tell them apart.
    if not passwords.verify(stored_hash, password) or user is None or stored_hash is None:
        _record_failure(db, username=username, client=client, now=now, settings=settings,
                        user_id=user.id if user else None)
        db.commit()
        raise Unauthorized("wrong username or password")
    if passwords.needs_rehash(stored_hash):
        user.password_hash = passwords.hash(password)
    # The owner got in: the account's delay starts over (the address keeps what it failed on other accounts).
    db.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
    token, expires_at = issue_token(db, user=user, now=now, ttl_seconds=settings.token_ttl_seconds)
    record(db, actor=Principal(user.id, user.username, user.role, user.scope), action="auth.login", entity="user",
           entity_id=user.id, now=now, after={"client": client})
    return token, expires_at


def _record_failure(db: Session, *, username: str, client: str, now: datetime, settings: AuthSettings,
                    user_id: int | None) -> None:
    cutoff = now - timedelta(seconds=settings.login_window_seconds)
    # What left the window counts no more (the rules worker sweeps the rest: cloud.alerts.worker).
    db.execute(delete(LoginAttempt).where(LoginAttempt.username == username, LoginAttempt.at <= cutoff))
    db.execute(delete(LoginAttempt).where(LoginAttempt.client == client, LoginAttempt.at <= cutoff))
    db.add(LoginAttempt(username=username, client=client, at=now))
    db.flush()
    account = db.execute(select(func.count()).where(LoginAttempt.username == username,
                                                    LoginAttempt.at > cutoff)).scalar_one()
    from_client = db.execute(select(func.count()).where(LoginAttempt.client == client,
                                                        LoginAttempt.at > cutoff)).scalar_one()
    delay = account_delay(account, settings)
    # Every failure is audited: each cost a password hash, so the throttle bounds how many there can be.
    record(db, actor=None, action="auth.login_failed", entity="user", entity_id=user_id, now=now,
           after={"username": username, "client": client, "account_failures": account,
                  "client_failures": from_client, "next_attempt_after_s": delay})
    if from_client == settings.login_max_failures_per_client:
        record(db, actor=None, action="auth.login_throttled", entity="user", entity_id=user_id, now=now,
               after={"username": username, "client": client, "client_failures": from_client,
                      "refused_for_s": settings.login_window_seconds})


def sweep_login_attempts(db: Session, *, now: datetime, settings: AuthSettings) -> int:
    """Delete failures that left the window (of accounts and addresses never tried again); the caller commits."""
    cutoff = now - timedelta(seconds=settings.login_window_seconds)
    # A DML statement's result is a CursorResult (it has rowcount), but Session.execute is typed as plain Result
    return db.execute(delete(LoginAttempt).where(LoginAttempt.at <= cutoff)).rowcount  # type: ignore[attr-defined]


def logout(db: Session, *, actor: Principal, token: str, now: datetime) -> None:
    revoke_token(db, token=token)
    record(db, actor=actor, action="auth.logout", entity="user", entity_id=actor.user_id, now=now)
