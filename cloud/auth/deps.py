"""Authentication dependencies: ``CurrentUser`` (any signed-in user) and ``allowed(action)`` (role check, 403).

Every API request authenticates, so this path is kept cheap: the dependencies are ``async def`` (a plain ``def``
costs a thread-pool hop each), and the principal a token stands for is remembered for a short time.

Principal cache — what it may serve, and for how long:

- An entry is used for at most :data:`PRINCIPAL_TTL_S` seconds after the database said the token was valid, by
  both the monotonic clock and the app's clock (so a clock moved forward, as in tests, also ends it).
- Any committed change in this process to a user or to access tokens (logout, revocation, password change,
  deactivation, a new role or scope) empties the cache of every app in the process at once.
- So a token revoked, expired, or whose user was changed or disabled **through another API worker or process**
  keeps working for at most :data:`PRINCIPAL_TTL_S` seconds there; through this worker, not at all.
- Only successes are kept (an unknown token always goes to the database), keyed by the token's SHA-256.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from starlette.concurrency import run_in_threadpool

from cloud.auth.models import AccessToken, User
from cloud.auth.passwords import Passwords
from cloud.auth.policy import Action, check
from cloud.auth.roles import Principal
from cloud.auth.tokens import token_digest, user_for_token
from cloud.deps import DbSession, Now
from cloud.errors import Unauthorized

_bearer = HTTPBearer(auto_error=False, description="the access_token from POST /api/v1/auth/login")

PRINCIPAL_TTL_S = 1.0  # the longest a change made elsewhere can go unseen here (see the module doc)
PRINCIPAL_CACHE_SIZE = 10_000  # tokens remembered per app; the oldest is dropped beyond it


def principal_of(user: User) -> Principal:
    return Principal(user_id=user.id, username=user.username, role=user.role, scope=user.scope)


async def bearer_token(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required")
    return creds.credentials


BearerToken = Annotated[str, Depends(bearer_token)]


# -- the principal cache -------------------------------------------------------------------------------------

_AUTH_TABLES = frozenset({User.__tablename__, AccessToken.__tablename__})
_CHANGED = "auth_changed"  # Session.info flag: this transaction touched users or tokens
_generations = itertools.count(1)
_generation = 0  # moved on whenever such a change is made or committed; entries of an older generation are void


def _auth_changed() -> None:
    global _generation
    _generation = next(_generations)  # a fresh value even when two threads get here at once


@event.listens_for(Session, "do_orm_execute")
def _watch_statements(state: ORMExecuteState) -> None:
    """Bulk UPDATE/DELETE of users or tokens (logout and revocation are ``DELETE FROM access_tokens``)."""
    if state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in _AUTH_TABLES:
            state.session.info[_CHANGED] = True
            _auth_changed()


@event.listens_for(Session, "after_flush")
def _watch_flush(session: Session, _flush: UOWTransaction) -> None:
    """ORM changes to a user (role, scope, active, password) or a token object."""
    if any(isinstance(o, User | AccessToken) for o in (*session.dirty, *session.deleted)):
        session.info[_CHANGED] = True
        _auth_changed()


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    # Bump again at commit: a request that read the old row between the change and its commit cached it under
    # the generation the change had already moved to.
    if session.info.pop(_CHANGED, False):
        _auth_changed()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_CHANGED, None)


class PrincipalCache:
    """token digest → (principal, generation, monotonic time, app time) of a successful lookup."""

    def __init__(self, ttl_s: float = PRINCIPAL_TTL_S, size: int = PRINCIPAL_CACHE_SIZE) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._entries: OrderedDict[str, tuple[Principal, int, float, datetime]] = OrderedDict()

    def get(self, digest: str, now: datetime) -> Principal | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        principal, generation, at_mono, at = entry
        age = (now - at).total_seconds()
        if generation != _generation or not 0 <= age < self.ttl_s or time.monotonic() - at_mono >= self.ttl_s:
            self._entries.pop(digest, None)
            return None
        return principal

    def put(self, digest: str, principal: Principal, generation: int, now: datetime) -> None:
        if generation != _generation:
            return  # users or tokens changed while this was being looked up: do not keep it
        self._entries[digest] = (principal, generation, time.monotonic(), now)
        self._entries.move_to_end(digest)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


def _cache_of(request: Request) -> PrincipalCache:
    state = request.app.state
    cache = getattr(state, "principal_cache", None)
    if cache is None:
        cache = state.principal_cache = PrincipalCache()
    return cache


def _lookup(db: Session, token: str, now: datetime) -> Principal | None:
    user = user_for_token(db, token=token, now=now)
    return None if user is None else principal_of(user)


async def current_principal(request: Request, db: DbSession, now: Now, token: BearerToken) -> Principal:
    cache = _cache_of(request)
    digest = token_digest(token)
    principal = cache.get(digest, now)
    if principal is None:
        generation = _generation
        principal = await run_in_threadpool(_lookup, db, token, now)  # the query blocks: a worker thread runs it
        if principal is None:
            raise Unauthorized("unknown or expired token")
        cache.put(digest, principal, generation, now)
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def allowed(action: Action) -> Any:
    """``actor: Annotated[Principal, allowed(Action.X)]``: the signed-in user, if its role may do ``action``."""

    async def _check(actor: CurrentUser) -> Principal:
        check(actor.role, action)
        return actor

    return Depends(_check)


async def get_passwords(request: Request) -> Passwords:
    return request.app.state.passwords


PasswordHashing = Annotated[Passwords, Depends(get_passwords)]
