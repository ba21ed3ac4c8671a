"""Workers of an enterprise: registered by its manager (or a regulator in scope) with their qualifications.

A worker may be linked to its own user account (role worker or attendant, same enterprise); that user then
sees its own record and permit tokens and may register its phone's key.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.audit.service import record
from cloud.auth.models import User
from cloud.auth.roles import Principal, Role
from cloud.db.base import snapshot
from cloud.db.paging import fetch_page
from cloud.errors import Conflict, InvalidInput, NotFound
from cloud.scope import owned_query, visible_enterprise
from cloud.workers.models import Worker
from cloud.workers.schemas import WorkerCreate, WorkerUpdate

_LINKABLE_ROLES = frozenset({Role.WORKER, Role.ATTENDANT})


def _check_user(db: Session, *, user_id: int | None, enterprise_id: int, worker_id: int | None = None) -> None:
    if user_id is None:
        return
    user = db.get(User, user_id)
    if user is None or user.enterprise_id != enterprise_id or user.role not in _LINKABLE_ROLES:
        raise InvalidInput("no such worker or attendant user in the worker's enterprise", field="user_id")
    clash = select(Worker.id).where(Worker.user_id == user_id)
    if worker_id is not None:
        clash = clash.where(Worker.id != worker_id)
    if db.execute(clash).first() is not None:
        raise Conflict("another worker is linked to this user", field="user_id")


def create_worker(db: Session, *, actor: Principal, data: WorkerCreate, now: datetime) -> Worker:
    enterprise = visible_enterprise(db, actor=actor, enterprise_id=data.enterprise_id)
    _check_user(db, user_id=data.user_id, enterprise_id=enterprise.id)
    fields = data.model_dump(mode="json")
    worker = Worker(**{**fields, "training_valid_until": data.training_valid_until}, uid=secrets.token_hex(16),
                    active=True, created_at=now, updated_at=now)
    db.add(worker)
    db.flush()
    record(db, actor=actor, action="worker.create", entity="worker", entity_id=worker.id, now=now,
           after=_audit(worker))
    return worker


def _audit(worker: Worker) -> dict[str, object]:
    out = snapshot(worker)
    if out.get("training_valid_until") is not None:
        out["training_valid_until"] = str(out["training_valid_until"])
    return out


def list_workers(db: Session, *, actor: Principal, enterprise_id: int | None, limit: int,
                 offset: int) -> tuple[list[Worker], int]:
    stmt = owned_query(Worker, actor)
    if enterprise_id is not None:
        stmt = stmt.where(Worker.enterprise_id == enterprise_id)
    return fetch_page(db, stmt, order_by=Worker.id, limit=limit, offset=offset)


def update_worker(db: Session, *, actor: Principal, worker: Worker, data: WorkerUpdate, now: datetime) -> Worker:
    changes = data.model_dump(mode="json", exclude_unset=True)
    if "user_id" in changes:
        _check_user(db, user_id=changes["user_id"], enterprise_id=worker.enterprise_id, worker_id=worker.id)
    if "training_valid_until" in changes:
        changes["training_valid_until"] = data.training_valid_until
    before = _audit(worker)
    for key, value in changes.items():
        setattr(worker, key, value)
    worker.updated_at = now
    db.flush()
    record(db, actor=actor, action="worker.update", entity="worker", entity_id=worker.id, now=now, before=before,
           after=_audit(worker))
    return worker


def delete_worker(db: Session, *, actor: Principal, worker: Worker, now: datetime) -> None:
    """Only a worker named on no permit can go (409 otherwise: deactivate it instead)."""
    worker_id = worker.id
    before = _audit(worker)
    db.delete(worker)
    db.flush()
    record(db, actor=actor, action="worker.delete", entity="worker", entity_id=worker_id, now=now, before=before)


def worker_of_user(db: Session, *, actor: Principal) -> Worker:
    """The worker record linked to the signed-in user (404 when none)."""
    worker = db.execute(select(Worker).where(Worker.user_id == actor.user_id)).scalar_one_or_none()
    if worker is None:
        raise NotFound("no worker record is linked to your account")
    return worker


def set_own_phone_key(db: Session, *, actor: Principal, phone_key: str, now: datetime) -> Worker:
    """The worker registers its (new) phone's key; tokens issued later are bound to it."""
    worker = worker_of_user(db, actor=actor)
    before = _audit(worker)
    worker.phone_key = phone_key
    worker.updated_at = now
    db.flush()
    record(db, actor=actor, action="worker.phone_key", entity="worker", entity_id=worker.id, now=now, before=before,
           after=_audit(worker))
    return worker
