"""Authentication dependencies: ``CurrentUser`` (any signed-in user) and ``allowed(action)`` (role check, 403)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cloud.auth.models import User
from cloud.auth.passwords import Passwords
from cloud.auth.policy import Action, check
from cloud.auth.roles import Principal
from cloud.auth.tokens import user_for_token
from cloud.deps import DbSession, Now
from cloud.errors import Unauthorized

_bearer = HTTPBearer(auto_error=False, description="the access_token from POST /api/v1/auth/login")


def principal_of(user: User) -> Principal:
    return Principal(user_id=user.id, username=user.username, role=user.role, scope=user.scope)


def bearer_token(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required")
    return creds.credentials


BearerToken = Annotated[str, Depends(bearer_token)]


def current_principal(db: DbSession, now: Now, token: BearerToken) -> Principal:
    user = user_for_token(db, token=token, now=now)
    if user is None:
        raise Unauthorized("unknown or expired token")
    return principal_of(user)


CurrentUser = Annotated[Principal, Depends(current_principal)]


def allowed(action: Action) -> Any:
    """``actor: Annotated[Principal, allowed(Action.X)]``: the signed-in user, if its role may do ``action``."""

    def _check(actor: CurrentUser) -> Principal:
        check(actor.role, action)
        return actor

    return Depends(_check)


def get_passwords(request: Request) -> Passwords:
    return request.app.state.passwords


PasswordHashing = Annotated[Passwords, Depends(get_passwords)]
