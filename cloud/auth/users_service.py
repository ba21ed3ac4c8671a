"""Managing users: creation by a user manager or the command line, changes by a manager or by the user.

A manager acts only inside its own scope, grants only the roles of ``GRANTABLE`` and never changes its own
role or scope; users outside its scope are 404.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.audit.service import record
from cloud.auth.models import User
from cloud.auth.passwords import Passwords, password_problem
from cloud.auth.roles import GRANTABLE, ROLE_SCOPES, Principal, Role, Scope
from cloud.auth.schemas import ScopeIn, SelfUpdate, UserAdminUpdate, UserCreate
from cloud.auth.tokens import revoke_all
from cloud.db.base import snapshot
from cloud.db.paging import fetch_page
from cloud.errors import Conflict, Forbidden, InvalidInput, NotFound
from cloud.scope import scope_within, users_filter


def _check_password(password: str, *, field: str) -> None:
    problem = password_problem(password)
    if problem:
        raise InvalidInput(f"password needs {problem}", field=field)


def _check_grant(db: Session, *, actor: Principal, role: Role, scope: Scope) -> None:
    if role not in GRANTABLE.get(actor.role, frozenset()):
        raise Forbidden(f"role {actor.role.value} may not grant role {role.value}", field="role")
    if scope.kind not in ROLE_SCOPES[role]:
        raise InvalidInput(f"role {role.value} cannot have a {scope.kind.value} scope", field="scope.kind")
    if not scope_within(db, scope, actor.scope):
        raise InvalidInput(f"no such {scope.kind.value} in your scope", field="scope.id")


def _scope(data: ScopeIn) -> Scope:
    return Scope(data.kind, data.id)


def create_user(db: Session, *, actor: Principal | None, data: UserCreate, passwords: Passwords,
                now: datetime) -> User:
    """Create a user; ``actor=None`` is the command line (no grant checks: it has the machine)."""
    scope = _scope(data.scope)
    if actor is not None:
        _check_grant(db, actor=actor, role=data.role, scope=scope)
    elif scope.kind not in ROLE_SCOPES[data.role]:
        raise InvalidInput(f"role {data.role.value} cannot have a {scope.kind.value} scope", field="scope.kind")
    _check_password(data.password, field="password")
    if db.execute(select(User.id).where(User.username == data.username)).first() is not None:
        raise Conflict("username already taken", field="username")
    user = User(username=data.username, display_name=data.display_name, password_hash=passwords.hash(data.password),
                role=data.role, active=True, created_at=now, updated_at=now)
    user.set_scope(scope)
    db.add(user)
    db.flush()
    record(db, actor=actor, action="user.create", entity="user", entity_id=user.id, now=now,
           after=snapshot(user), actor_name="command-line")
    return user


def list_users(db: Session, *, actor: Principal, limit: int, offset: int) -> tuple[list[User], int]:
    return fetch_page(db, select(User).where(users_filter(actor)), order_by=User.id, limit=limit, offset=offset)


def get_self(db: Session, *, actor: Principal) -> User:
    user = db.get(User, actor.user_id)
    if user is None:  # deleted between authentication and now
        raise NotFound("no such user")
    return user


def update_user(db: Session, *, actor: Principal, user: User, data: UserAdminUpdate, passwords: Passwords,
                now: datetime) -> User:
    if user.role not in GRANTABLE.get(actor.role, frozenset()):
        raise Forbidden(f"role {actor.role.value} may not change a {user.role.value}")
    changes = data.changes()
    own_rights = sorted({"role", "scope", "active"} & changes.keys())
    if user.id == actor.user_id and own_rights:
        raise Forbidden("you cannot change your own role, scope or status", field=own_rights[0])
    before = snapshot(user)
    if "role" in changes or "scope" in changes:
        role = data.role or user.role
        scope = _scope(data.scope) if data.scope is not None else user.scope
        _check_grant(db, actor=actor, role=role, scope=scope)
        user.role = role
        user.set_scope(scope)
    if data.display_name is not None:
        user.display_name = data.display_name
    if data.password is not None:
        _check_password(data.password, field="password")
        user.password_hash = passwords.hash(data.password)
        revoke_all(db, user_id=user.id)
    if data.active is not None:
        user.active = data.active
        if not data.active:
            revoke_all(db, user_id=user.id)
    user.updated_at = now
    db.flush()
    record(db, actor=actor, action="user.update", entity="user", entity_id=user.id, now=now, before=before,
           after=snapshot(user))
    return user


def update_self(db: Session, *, actor: Principal, data: SelfUpdate, passwords: Passwords, now: datetime,
                token: str) -> User:
    user = get_self(db, actor=actor)
    before = snapshot(user)
    if data.new_password is not None:
        if data.current_password is None or not passwords.verify(user.password_hash, data.current_password):
            raise InvalidInput("the current password is required and must be right", field="current_password")
        _check_password(data.new_password, field="new_password")
        user.password_hash = passwords.hash(data.new_password)
        revoke_all(db, user_id=user.id, keep=token)  # sign out every other session
    elif data.current_password is not None:
        raise InvalidInput("current_password only goes with new_password", field="current_password")
    if data.display_name is not None:
        user.display_name = data.display_name
    user.updated_at = now
    db.flush()
    record(db, actor=actor, action="user.self_update", entity="user", entity_id=user.id, now=now, before=before,
           after=snapshot(user))
    return user
