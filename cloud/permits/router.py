"""HTTP endpoints of permits, and the worker's phone fetching its own permit token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session

from cloud.auth.deps import CurrentUser, allowed
from cloud.auth.policy import Action
from cloud.auth.roles import Principal
from cloud.deps import DbSession, Limit, Now, Offset
from cloud.keys.deps import Keys, get_keystore
from cloud.keys.service import KeyStore
from cloud.permits import service
from cloud.permits.models import Permit
from cloud.permits.schemas import (
    ApprovalOut,
    DecisionIn,
    PermitApply,
    PermitOut,
    PermitStatus,
    PreEntryIn,
    RefuseIn,
    TokenInfo,
    WorkerTokenOut,
)
from cloud.registry.ids import space_uid
from cloud.registry.models import ConfinedSpace
from cloud.schemas import ERROR_RESPONSES, ErrorBody, Page, PathId, QueryId, json_of
from cloud.scope import PERMIT, VisiblePermit, in_scope
from protocols.token import decode_token
from protocols.uplink.fields import b64url_encode

router = APIRouter(prefix="/api/v1", tags=["permits"], responses=ERROR_RESPONSES)
Applicant = Annotated[Principal, allowed(Action.PERMIT_APPLY)]
Approver = Annotated[Principal, allowed(Action.PERMIT_APPROVE)]
Confirmer = Annotated[Principal, allowed(Action.PERMIT_CONFIRM)]
Revoker = Annotated[Principal, allowed(Action.PERMIT_REVOKE)]
ToApprove = Annotated[Permit, in_scope(PERMIT, action=Action.PERMIT_APPROVE)]
ToConfirm = Annotated[Permit, in_scope(PERMIT, action=Action.PERMIT_CONFIRM)]
ToRevoke = Annotated[Permit, in_scope(PERMIT, action=Action.PERMIT_REVOKE)]
Store = Annotated[KeyStore, Depends(get_keystore)]
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "wrong state or level; `unqualified` names who and why"},
}


def permit_view(db: Session, permit: Permit) -> PermitOut:
    space = db.get(ConfinedSpace, permit.space_id)
    assert space is not None
    return PermitOut.model_validate({
        **{c.key: getattr(permit, c.key) for c in Permit.__table__.columns if c.key not in ("applied_by",)},
        "space_uid": space_uid(permit.space_id).hex(), "rescue_card": space.rescue_card,
        "approvals": [ApprovalOut.model_validate(a) for a in service.approvals_of(db, permit)],
        "tokens": [TokenInfo.model_validate(t) for t in service.tokens_of(db, permit)]})


@router.get("/permits", response_model=Page[PermitOut])
def list_permits(actor: CurrentUser, db: DbSession, space_id: QueryId = None,
                 status: PermitStatus | None = None, limit: Limit = 100, offset: Offset = 0) -> Response:
    """Newest first."""
    rows, total = service.list_permits(db, actor=actor, space_id=space_id, status=status, limit=limit, offset=offset)
    return json_of(Page[PermitOut](items=[permit_view(db, p) for p in rows], total=total, limit=limit,
                                    offset=offset))


@router.post("/permits", response_model=PermitOut, status_code=201, responses=_CONFLICT)
def apply(body: PermitApply, actor: Applicant, db: DbSession, now: Now) -> PermitOut:
    """Apply for a permit; entrants and attendant must be qualified for the whole work window."""
    permit = service.apply(db, actor=actor, data=body, now=now)
    db.commit()
    return permit_view(db, permit)


@router.get("/permits/{permit_id}", response_model=PermitOut)
def read_permit(permit: VisiblePermit, db: DbSession) -> PermitOut:
    """The permit with its approvals, its tokens (ids only) and the space's rescue card."""
    return permit_view(db, permit)


@router.post("/permits/{permit_id}/approve", response_model=PermitOut, responses=_CONFLICT)
def approve(permit: ToApprove, body: DecisionIn, actor: Approver, db: DbSession, store: Store, now: Now) -> PermitOut:
    """Approve at your level (enterprise approver first; a regulator's approver after it for high-risk work).
    The last approval issues a token per entrant and pushes the signed permit to the space's gateways."""
    permit = service.approve(db, actor=actor, permit=permit, note=body.note, keys=store.keyring, now=now)
    db.commit()
    return permit_view(db, permit)


@router.post("/permits/{permit_id}/refuse", response_model=PermitOut, responses=_CONFLICT)
def refuse(permit: ToApprove, body: RefuseIn, actor: Approver, db: DbSession, now: Now) -> PermitOut:
    permit = service.refuse(db, actor=actor, permit=permit, reason=body.reason, now=now)
    db.commit()
    return permit_view(db, permit)


@router.post("/permits/{permit_id}/pre-entry", response_model=PermitOut, responses=_CONFLICT)
def confirm_pre_entry(permit: ToConfirm, body: PreEntryIn, actor: Confirmer, db: DbSession, now: Now) -> PermitOut:
    """The attendant confirms the pre-entry safety conditions (登记报备): gas test, isolation, ventilation,
    PPE, rescue equipment, briefing. Every confirmation must be true."""
    permit = service.confirm_pre_entry(db, actor=actor, permit=permit, data=body, now=now)
    db.commit()
    return permit_view(db, permit)


@router.post("/permits/{permit_id}/revoke", response_model=PermitOut, responses=_CONFLICT)
def revoke(permit: ToRevoke, body: RefuseIn, actor: Revoker, db: DbSession, keys: Keys, now: Now) -> PermitOut:
    """Revoke the permit: its tokens go on a signed revocation list pushed, with permit_revoked commands, to the
    space's gateways."""
    permit, _gateways = service.revoke(db, actor=actor, permit=permit, reason=body.reason, keyring=keys,
                                       now=now)
    db.commit()
    return permit_view(db, permit)


@router.get("/workers/me/permits/{permit_id}/token", response_model=WorkerTokenOut, tags=["workers"])
def own_token(permit_id: PathId, actor: CurrentUser, db: DbSession) -> WorkerTokenOut:
    """Your permit token (for your phone to present to the padlock), only if the permit names you and is issued."""
    permit, token = service.own_token(db, actor=actor, permit_id=permit_id)
    claims = decode_token(token.token)
    return WorkerTokenOut(permit_id=permit.id, permit_uid=permit.uid, token=b64url_encode(token.token), cti=token.cti,
                          kid=token.kid, lock_ids=[lock.hex() for lock in claims.lock_ids],
                          window_start=permit.work_start, window_end=permit.work_end, expires_at=permit.work_end)
