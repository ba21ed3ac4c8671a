"""The permit workflow: apply → enterprise approval → (high-risk) regulator approval → issued; refuse; revoke;
the pre-entry confirmation; the worker's own token.

Every approval re-checks each entrant's and the attendant's qualifications for the work window and refuses
with the reasons (409 ``unqualified``): a training that lapsed since the application counts.
Enterprise-scoped approvers give the enterprise's approval; approvers with an area or city scope are the
regulator's step, and only after the enterprise's.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.audit.service import record
from cloud.auth.roles import Principal, ScopeKind
from cloud.db.base import snapshot
from cloud.db.paging import fetch_page
from cloud.errors import Conflict, InvalidInput, NotFound
from cloud.keys.service import MAX_LEAD, Keyring
from cloud.permits.issuance import issue_permit
from cloud.permits.models import Permit, PermitApproval, PermitToken
from cloud.permits.revocation import revoke_permit_tokens
from cloud.permits.schemas import PermitApply, PermitStatus, PreEntryIn
from cloud.registry.models import Enterprise
from cloud.scope import owned_query, visible_space
from cloud.workers.models import Worker
from cloud.workers.qualifications import qualification_problems
from cloud.workers.service import worker_of_user

ENTERPRISE_LEVEL = "enterprise"
REGULATOR_LEVEL = "regulator"


def _audit(permit: Permit) -> dict[str, object]:
    return snapshot(permit)


def _workers(db: Session, *, permit_enterprise: int, ids: list[int], field: str) -> list[Worker]:
    rows = {w.id: w for w in db.execute(select(Worker).where(Worker.id.in_(ids))).scalars()}
    for i, worker_id in enumerate(ids):
        worker = rows.get(worker_id)
        if worker is None or worker.enterprise_id != permit_enterprise:
            raise InvalidInput("no such worker in the space's enterprise",
                               field=f"{field}.{i}" if field == "entrant_ids" else field)
    return [rows[i] for i in ids]


def _check_qualified(db: Session, permit: Permit) -> tuple[Worker, list[Worker]]:
    attendant = _workers(db, permit_enterprise=permit.enterprise_id, ids=[permit.attendant_id],
                         field="attendant_id")[0]
    entrants = _workers(db, permit_enterprise=permit.enterprise_id, ids=permit.entrant_ids, field="entrant_ids")
    last_day = permit.work_end.date()
    problems = qualification_problems(attendant, last_day=last_day, required_certificates=[], role="attendant")
    for worker in entrants:
        problems += qualification_problems(worker, last_day=last_day,
                                           required_certificates=permit.required_certificates, role="entrant")
        if worker.phone_key is None:
            problems.append(f"entrant {worker.name} (worker {worker.id}) has no registered phone key")
    if problems:
        raise Conflict("; ".join(problems), code="unqualified",
                       field="attendant_id" if problems[0].startswith("attendant") else "entrant_ids")
    return attendant, entrants


def apply(db: Session, *, actor: Principal, data: PermitApply, now: datetime) -> Permit:
    space = visible_space(db, actor=actor, space_id=data.space_id)
    if data.work_end <= now:
        raise InvalidInput("the work window has already ended", field="work_end")
    if data.work_start > now + MAX_LEAD:
        raise InvalidInput(f"the work may start at most {MAX_LEAD.days} days ahead", field="work_start")
    enterprise = db.get(Enterprise, space.enterprise_id)
    assert enterprise is not None
    fields = data.model_dump(mode="json", exclude={"work_start", "work_end", "entrant_limit", "high_risk"})
    permit = Permit(**fields, uid=secrets.token_hex(16), enterprise_id=space.enterprise_id,
                    status=PermitStatus.APPLIED.value, work_start=data.work_start, work_end=data.work_end,
                    entrant_limit=data.entrant_limit or len(data.entrant_ids),
                    high_risk=data.high_risk or enterprise.hazardous_chemicals, applied_by=actor.user_id,
                    created_at=now, updated_at=now)
    _check_qualified(db, permit)
    db.add(permit)
    db.flush()
    record(db, actor=actor, action="permit.apply", entity="permit", entity_id=permit.id, now=now,
           after=_audit(permit))
    return permit


def list_permits(db: Session, *, actor: Principal, space_id: int | None, status: PermitStatus | None, limit: int,
                 offset: int) -> tuple[list[Permit], int]:
    stmt = owned_query(Permit, actor)
    if space_id is not None:
        stmt = stmt.where(Permit.space_id == space_id)
    if status is not None:
        stmt = stmt.where(Permit.status == status.value)
    return fetch_page(db, stmt, order_by=Permit.id.desc(), limit=limit, offset=offset)


def _level(actor: Principal) -> str:
    return ENTERPRISE_LEVEL if actor.scope.kind is ScopeKind.ENTERPRISE else REGULATOR_LEVEL


def _expected_level(permit: Permit) -> str:
    if permit.status == PermitStatus.APPLIED.value:
        return ENTERPRISE_LEVEL
    if permit.status == PermitStatus.AWAITING_REGULATOR.value:
        return REGULATOR_LEVEL
    raise Conflict(f"the permit is {permit.status}", code="wrong_state", field="status")


def _decide(db: Session, *, actor: Principal, permit: Permit, decision: str, note: str, now: datetime) -> str:
    level = _level(actor)
    expected = _expected_level(permit)
    if level != expected:
        raise Conflict(f"the permit waits for the {expected}'s decision", code="wrong_level", field="status")
    db.add(PermitApproval(permit_id=permit.id, level=level, decision=decision, by_user_id=actor.user_id,
                          by_name=actor.username, at=now, note=note))
    return level


def approve(db: Session, *, actor: Principal, permit: Permit, note: str, keys: Callable[[], Keyring],
            now: datetime) -> Permit:
    """Record this approver's approval; at the last step issue the tokens and push the permit.

    ``keys`` is called only then: an intermediate approval works without the signing keys."""
    if permit.work_end <= now:
        raise Conflict("the work window has ended", code="wrong_state", field="work_end")
    _expected_level(permit)
    _, entrants = _check_qualified(db, permit)
    before = _audit(permit)
    level = _decide(db, actor=actor, permit=permit, decision="approved", note=note, now=now)
    if level == ENTERPRISE_LEVEL and permit.high_risk:
        permit.status = PermitStatus.AWAITING_REGULATOR.value
    else:
        issue_permit(db, permit=permit, entrants=entrants, keyring=keys(), now=now)
        permit.status = PermitStatus.APPROVED.value
    permit.updated_at = now
    db.flush()
    record(db, actor=actor, action=f"permit.approve_{level}", entity="permit", entity_id=permit.id, now=now,
           before=before, after=_audit(permit))
    return permit


def refuse(db: Session, *, actor: Principal, permit: Permit, reason: str, now: datetime) -> Permit:
    before = _audit(permit)
    level = _decide(db, actor=actor, permit=permit, decision="refused", note=reason, now=now)
    permit.status = PermitStatus.REFUSED.value
    permit.reason = reason
    permit.updated_at = now
    db.flush()
    record(db, actor=actor, action=f"permit.refuse_{level}", entity="permit", entity_id=permit.id, now=now,
           before=before, after=_audit(permit))
    return permit


def confirm_pre_entry(db: Session, *, actor: Principal, permit: Permit, data: PreEntryIn, now: datetime) -> Permit:
    """Store the pre-entry safety confirmation (登记报备) of an issued permit; a later one replaces it."""
    if permit.status != PermitStatus.APPROVED.value:
        raise Conflict(f"the permit is {permit.status}, not approved", code="wrong_state", field="status")
    before = _audit(permit)
    permit.pre_entry = {**data.model_dump(mode="json"), "confirmed_by": actor.username,
                        "confirmed_by_id": actor.user_id, "confirmed_at": now.isoformat()}
    permit.updated_at = now
    db.flush()
    record(db, actor=actor, action="permit.pre_entry", entity="permit", entity_id=permit.id, now=now, before=before,
           after=_audit(permit))
    return permit


def revoke(db: Session, *, actor: Principal, permit: Permit, reason: str, keyring: Keyring,
           now: datetime) -> tuple[Permit, list[str]]:
    """Revoke a permit; when tokens were issued, a signed revocation list goes to the space's gateways."""
    if permit.status in (PermitStatus.REVOKED.value, PermitStatus.REFUSED.value):
        raise Conflict(f"the permit is already {permit.status}", code="wrong_state", field="status")
    before = _audit(permit)
    gateways: list[str] = []
    if permit.status == PermitStatus.APPROVED.value:
        _, gateways = revoke_permit_tokens(db, permit=permit, reason=reason, keyring=keyring, now=now)
    permit.status = PermitStatus.REVOKED.value
    permit.reason = reason
    permit.updated_at = now
    db.flush()
    record(db, actor=actor, action="permit.revoke", entity="permit", entity_id=permit.id, now=now, before=before,
           after={**_audit(permit), "gateways": gateways})
    return permit, gateways


def approvals_of(db: Session, permit: Permit) -> list[PermitApproval]:
    return list(db.execute(select(PermitApproval).where(PermitApproval.permit_id == permit.id)
                           .order_by(PermitApproval.id)).scalars())


def tokens_of(db: Session, permit: Permit) -> list[PermitToken]:
    return list(db.execute(select(PermitToken).where(PermitToken.permit_id == permit.id)
                           .order_by(PermitToken.id)).scalars())


def own_token(db: Session, *, actor: Principal, permit_id: int) -> tuple[Permit, PermitToken]:
    """The signed-in worker's token for a permit: 404 unless the permit is issued, not revoked, and names them."""
    worker = worker_of_user(db, actor=actor)
    row = db.execute(select(Permit, PermitToken).join(PermitToken, PermitToken.permit_id == Permit.id)
                     .where(Permit.id == permit_id, PermitToken.worker_id == worker.id,
                            Permit.status == PermitStatus.APPROVED.value, PermitToken.revoked_at.is_(None))
                     .order_by(PermitToken.id.desc())).first()
    if row is None:
        raise NotFound("no such permit token for you")
    return row[0], row[1]
