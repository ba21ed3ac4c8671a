"""Authentication dependencies: ``CurrentUser`` (any signed-in user) and ``allowed(action)`` (role check, 403).

Every API request authenticates, so this path is kept cheap: the dependencies are ``async def`` (a plain ``def``
costs a thread-pool hop each), and the principal a token stands for is remembered for a short time.

Principal cache — what it may serve, and for how long (:class:`PrincipalCache`, one per process):

- An entry is used for at most :data:`PRINCIPAL_TTL_S` seconds after the database said the token was valid, by
  both the monotonic clock and the app's clock (so a clock moved forward, as in tests, also ends it).
- The endpoints that change a user or revoke tokens (logout, a user's own or an administrator's change of role,
  scope, status or password) empty the cache after they commit: such a change made through this process is seen
  by the next request.
- So a token revoked, expired, or whose user was changed or disabled **elsewhere** (another API worker process,
  the command line, plain SQL) keeps working for at most :data:`PRINCIPAL_TTL_S` seconds here.
- Only successes are kept (an unknown token always goes to the database), keyed by the token's SHA-256.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cloud.auth.models import User
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


class PrincipalCache:
    """token digest → (principal, monotonic time, app time) of a successful lookup, kept for ``ttl_s``.

    :meth:`forget_all` empties it; the API calls it after committing a change to a user or to tokens (see the
    module doc). A lookup that started before such a call is not kept (:attr:`version` moved on meanwhile), so a
    request racing the change cannot put the old principal back.
    """

    def __init__(self, ttl_s: float = PRINCIPAL_TTL_S, size: int = PRINCIPAL_CACHE_SIZE) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self.version = 0
        self._entries: OrderedDict[str, tuple[Principal, float, datetime]] = OrderedDict()
        self._lock = threading.Lock()  # get/put run on the event loop, forget_all in the endpoints' threads

    def get(self, digest: str, now: datetime) -> Principal | None:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            principal, at_mono, at = entry
            if not 0 <= (now - at).total_seconds() < self.ttl_s or time.monotonic() - at_mono >= self.ttl_s:
                del self._entries[digest]
                return None
            return principal

    def put(self, digest: str, principal: Principal, version: int, now: datetime) -> None:
        with self._lock:
            if version != self.version:
                return  # users or tokens changed while this was being looked up: do not keep it
            self._entries[digest] = (principal, time.monotonic(), now)
            self._entries.move_to_end(digest)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def forget_all(self) -> None:
        with self._lock:
            self.version += 1
            self._entries.clear()


#: The cache of this process, shared by its apps (tests run several apps in one process, as workers would share
#: one database).
PRINCIPALS = PrincipalCache()


def _lookup(db: Session, token: str, now: datetime) -> Principal | None:
    user = user_for_token(db, token=token, now=now)
    return None if user is None else principal_of(user)


async def current_principal(db: DbSession, now: Now, token: BearerToken) -> Principal:
    digest = token_digest(token)
    principal = PRINCIPALS.get(digest, now)
    if principal is None:
        version = PRINCIPALS.version
        principal = await run_in_threadpool(_lookup, db, token, now)  # the query blocks: a worker thread runs it
        if principal is None:
            raise Unauthorized("unknown or expired token")
        PRINCIPALS.put(digest, principal, version, now)
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
