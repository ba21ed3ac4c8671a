"""HTTP endpoints of the worker registry, and the signed-in worker's own record and phone key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from cloud.auth.deps import CurrentUser, allowed
from cloud.auth.policy import Action
from cloud.auth.roles import Principal
from cloud.deps import DbSession, Limit, Now, Offset
from cloud.schemas import ERROR_RESPONSES, Page, QueryId, page_of
from cloud.scope import WORKER, VisibleWorker, in_scope
from cloud.workers import service
from cloud.workers.models import Worker
from cloud.workers.schemas import PhoneKeyIn, WorkerCreate, WorkerOut, WorkerUpdate

router = APIRouter(prefix="/api/v1", tags=["workers"], responses=ERROR_RESPONSES)
WorkerManager = Annotated[Principal, allowed(Action.WORKER_MANAGE)]
ManagedWorker = Annotated[Worker, in_scope(WORKER, action=Action.WORKER_MANAGE)]


@router.get("/workers", response_model=Page[WorkerOut])
def list_workers(actor: CurrentUser, db: DbSession, enterprise_id: QueryId = None,
                 limit: Limit = 100, offset: Offset = 0) -> Response:
    rows, total = service.list_workers(db, actor=actor, enterprise_id=enterprise_id, limit=limit, offset=offset)
    return page_of(WorkerOut, rows, total=total, limit=limit, offset=offset)


@router.post("/workers", response_model=WorkerOut, status_code=201)
def create_worker(body: WorkerCreate, actor: WorkerManager, db: DbSession, now: Now) -> WorkerOut:
    row = service.create_worker(db, actor=actor, data=body, now=now)
    db.commit()
    return WorkerOut.model_validate(row)


@router.get("/workers/me", response_model=WorkerOut)
def read_own_worker(actor: CurrentUser, db: DbSession) -> WorkerOut:
    """The worker record linked to your account."""
    return WorkerOut.model_validate(service.worker_of_user(db, actor=actor))


@router.put("/workers/me/phone-key", response_model=WorkerOut)
def set_own_phone_key(body: PhoneKeyIn, actor: CurrentUser, db: DbSession, now: Now) -> WorkerOut:
    """Register your phone's Ed25519 public key: permit tokens issued from now on are bound to it."""
    row = service.set_own_phone_key(db, actor=actor, phone_key=body.phone_key, now=now)
    db.commit()
    return WorkerOut.model_validate(row)


@router.get("/workers/{worker_id}", response_model=WorkerOut)
def read_worker(worker: VisibleWorker) -> WorkerOut:
    return WorkerOut.model_validate(worker)


@router.patch("/workers/{worker_id}", response_model=WorkerOut)
def update_worker(worker: ManagedWorker, body: WorkerUpdate, actor: WorkerManager, db: DbSession,
                  now: Now) -> WorkerOut:
    row = service.update_worker(db, actor=actor, worker=worker, data=body, now=now)
    db.commit()
    return WorkerOut.model_validate(row)


@router.delete("/workers/{worker_id}", status_code=204)
def delete_worker(worker: ManagedWorker, actor: WorkerManager, db: DbSession, now: Now) -> None:
    """Only a worker named on no permit can go (409 otherwise: set it inactive instead)."""
    service.delete_worker(db, actor=actor, worker=worker, now=now)
    db.commit()
