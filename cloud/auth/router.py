"""HTTP endpoints of access control: login/logout, the signed-in user, user management."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from cloud.auth import service, users_service
from cloud.auth.deps import PRINCIPALS, BearerToken, CurrentUser, PasswordHashing, allowed
from cloud.auth.policy import Action
from cloud.auth.roles import Principal
from cloud.auth.schemas import LoginIn, SelfUpdate, TokenOut, UserAdminUpdate, UserCreate, UserOut
from cloud.deps import ClientAddress, DbSession, Limit, Now, Offset, Settings
from cloud.schemas import ERROR_RESPONSES, ErrorBody, Page, page_of
from cloud.scope import ManagedUser

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
UserManager = Annotated[Principal, allowed(Action.USER_MANAGE)]


@router.post("/auth/login", tags=["auth"], response_model=TokenOut,
             responses={429: {"model": ErrorBody, "description": "failed logins: this account must wait (Retry-After), "
                                                                 "or this address failed too often"},
                        503: {"model": ErrorBody, "description": "every password-hash slot is busy: retry shortly"}})
def login(body: LoginIn, db: DbSession, now: Now, settings: Settings, passwords: PasswordHashing,
          client: ClientAddress) -> TokenOut:
    """Exchange a username and password for a bearer token. Failed attempts are throttled: per account a growing
    wait (never a lockout), per client address a limit; see docs/operations.md."""
    token, expires_at = service.login(db, username=body.username, password=body.password, client=client, now=now,
                                      passwords=passwords, settings=settings.auth)
    db.commit()
    return TokenOut(access_token=token, expires_at=expires_at)


@router.post("/auth/logout", tags=["auth"], status_code=204)
def logout(actor: CurrentUser, token: BearerToken, db: DbSession, now: Now) -> None:
    """Revoke the token this request carries."""
    service.logout(db, actor=actor, token=token, now=now)
    db.commit()
    PRINCIPALS.forget_all()  # the change is committed: no request may go on with the old principal


@router.get("/users/me", tags=["users"], response_model=UserOut)
def read_me(actor: CurrentUser, db: DbSession) -> UserOut:
    return UserOut.model_validate(users_service.get_self(db, actor=actor))


@router.patch("/users/me", tags=["users"], response_model=UserOut)
def update_me(body: SelfUpdate, actor: CurrentUser, token: BearerToken, db: DbSession, now: Now,
              passwords: PasswordHashing) -> UserOut:
    """Change your display name or password. Role and scope are not accepted here (422)."""
    user = users_service.update_self(db, actor=actor, data=body, passwords=passwords, now=now, token=token)
    db.commit()
    PRINCIPALS.forget_all()  # the change is committed: no request may go on with the old principal
    return UserOut.model_validate(user)


@router.get("/users", tags=["users"], response_model=Page[UserOut])
def list_users(actor: UserManager, db: DbSession, limit: Limit = 100,
               offset: Offset = 0) -> Response:
    """Users scoped inside your scope."""
    rows, total = users_service.list_users(db, actor=actor, limit=limit, offset=offset)
    return page_of(UserOut, rows, total=total, limit=limit, offset=offset)


@router.post("/users", tags=["users"], response_model=UserOut, status_code=201)
def create_user(body: UserCreate, actor: UserManager, db: DbSession, now: Now,
                passwords: PasswordHashing) -> UserOut:
    """Create a user with a role you may grant, scoped inside your scope."""
    user = users_service.create_user(db, actor=actor, data=body, passwords=passwords, now=now)
    db.commit()
    return UserOut.model_validate(user)


@router.get("/users/{user_id}", tags=["users"], response_model=UserOut)
def read_user(user: ManagedUser) -> UserOut:
    return UserOut.model_validate(user)


@router.patch("/users/{user_id}", tags=["users"], response_model=UserOut)
def update_user(user: ManagedUser, body: UserAdminUpdate, actor: UserManager, db: DbSession, now: Now,
                passwords: PasswordHashing) -> UserOut:
    """Change another user's name, role, scope, status or password (within your scope and grantable roles)."""
    user = users_service.update_user(db, actor=actor, user=user, data=body, passwords=passwords, now=now)
    db.commit()
    PRINCIPALS.forget_all()  # the change is committed: no request may go on with the old principal
    return UserOut.model_validate(user)
