"""Hazards as people report and handle them: reporting from any source, the lifecycle steps (dispatch,
rectification with evidence, verification, closure, escalation) each kept in the event table and audited, the
per-grid mode, and the timeout rule the rules worker runs. The rules themselves are pure
(``cloud.hazards.lifecycle``); this module applies them to rows. No HTTP here.

Other domains create hazards through :func:`report_hazard` (keyword-only): a patrol finding, an IoT alert.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.audit.service import record
from cloud.auth.roles import Principal, Role
from cloud.db.base import snapshot
from cloud.db.paging import fetch_page
from cloud.errors import Conflict, Forbidden, InvalidInput
from cloud.hazards.lifecycle import (
    OPEN,
    Actor,
    ActorKind,
    Facts,
    HazardRuleError,
    HazardState,
    Level,
    Mode,
    Severity,
    Step,
    check_deadline,
    escalation_target,
    next_state,
    timed_out,
)
from cloud.hazards.models import Hazard, HazardEvent, HazardGridSetting, Source
from cloud.hazards.photos import check_photos
from cloud.registry.models import Enterprise, Grid
from cloud.scope import owned_query, scoped_query

SYSTEM = "system"
_KINDS = {Role.CITY_ADMIN: ActorKind.SUPERVISOR, Role.DISTRICT_SUPERVISOR: ActorKind.SUPERVISOR,
          Role.GRID_OFFICER: ActorKind.OFFICER, Role.ENTERPRISE_MANAGER: ActorKind.ENTERPRISE}
#: who sees a public reporter's contact (the hazard's scope is checked before anything is shown)
CONTACT_ROLES = frozenset({Role.CITY_ADMIN, Role.DISTRICT_SUPERVISOR})


def refused(error: HazardRuleError) -> Conflict | InvalidInput:
    """A lifecycle refusal as the API says it: bad input (422) when a field is at fault, else a conflict (409)."""
    if error.field is not None and error.field != "state":
        return InvalidInput(error.message, code=error.rule, field=error.field)
    return Conflict(error.message, code=error.rule, field=error.field)


def grid_mode(db: Session, grid_id: int) -> Mode:
    row = db.get(HazardGridSetting, grid_id)
    return Mode.COMBINED if row is None else row.mode


def set_grid_mode(db: Session, *, actor: Principal, grid: Grid, mode: Mode, now: datetime) -> Mode:
    """New hazards of the grid take ``mode``; hazards already reported keep theirs."""
    row = db.get(HazardGridSetting, grid.id)
    before = None if row is None else snapshot(row)
    if row is None:
        row = HazardGridSetting(grid_id=grid.id, mode=mode, updated_at=now)
        db.add(row)
    else:
        row.mode, row.updated_at = mode, now
    db.flush()
    record(db, actor=actor, action="hazard.grid_mode", entity="grid", entity_id=grid.id, now=now, before=before,
           after=snapshot(row))
    return row.mode


def _event(db: Session, hazard: Hazard, *, step: str, before: HazardState | None, by: str, by_id: int | None,
           at: datetime, note: str | None) -> None:
    db.add(HazardEvent(hazard_id=hazard.id, step=step, from_state=before.value if before else None,
                       to_state=hazard.state.value, by_user_id=by_id, by_name=by[:64], at=at,
                       note=note[:500] if note else None))


def report_hazard(db: Session, *, actor: Principal, enterprise: Enterprise, source: Source, description: str,
                  severity: Severity, deadline: datetime | None, photos: list[str], now: datetime,
                  alert_id: int | None = None, reporter_contact: str | None = None,
                  note: str | None = None) -> Hazard:
    """Record a hazard of ``enterprise`` (already checked to be in the actor's scope). The grid's mode is fixed on
    the hazard now; a major hazard is flagged for law enforcement at once."""
    try:
        check_deadline(reported_at=now, deadline=deadline)
    except HazardRuleError as error:
        raise refused(error) from None
    check_photos(db, photos, field="photos")
    major = severity is Severity.MAJOR
    hazard = Hazard(source=source, enterprise_id=enterprise.id, district_id=enterprise.district_id,
                    street_id=enterprise.street_id, grid_id=enterprise.grid_id, description=description,
                    severity=severity, state=HazardState.REPORTED, mode=grid_mode(db, enterprise.grid_id),
                    level=Level.GRID, photos=list(photos), evidence_photos=[], deadline=deadline, assignee=None,
                    alert_id=alert_id, reporter_user_id=actor.user_id, reporter_name=actor.username[:64],
                    reporter_contact=reporter_contact, flagged_for_enforcement=major,
                    flagged_for_enforcement_at=now if major else None, reported_at=now, updated_at=now)
    db.add(hazard)
    db.flush()
    _event(db, hazard, step="report", before=None, by=actor.username, by_id=actor.user_id, at=now, note=note)
    record(db, actor=actor, action="hazard.report", entity="hazard", entity_id=hazard.id, now=now,
           after=snapshot(hazard))
    return hazard


def actor_of(actor: Principal, hazard: Hazard) -> Actor:
    kind = _KINDS.get(actor.role)
    if kind is None:
        raise Forbidden(f"role {actor.role.value} may not handle hazards")
    return Actor(kind, is_finder=kind is ActorKind.OFFICER and hazard.reporter_user_id == actor.user_id)


def _last_step_at(db: Session, hazard: Hazard) -> datetime:
    last = db.execute(select(HazardEvent.at).where(HazardEvent.hazard_id == hazard.id)
                      .order_by(HazardEvent.id.desc()).limit(1)).scalar_one_or_none()
    return last or hazard.reported_at


def take_step(db: Session, *, actor: Principal, hazard: Hazard, step: Step, now: datetime, note: str | None = None,
              deadline: datetime | None = None, assignee: str | None = None, level: Level | None = None,
              evidence_photos: list[str] | None = None) -> Hazard:
    """Apply ``step`` to ``hazard`` (read ``FOR UPDATE``) if the lifecycle allows it for this actor."""
    evidence = evidence_photos or []
    if step is Step.RECTIFY:
        check_photos(db, evidence, field="evidence_photos")
    facts = Facts(state=hazard.state, mode=hazard.mode, reported_at=hazard.reported_at,
                  last_step_at=_last_step_at(db, hazard))
    try:
        target = next_state(facts, step, actor_of(actor, hazard), now=now, evidence=bool(evidence),
                            deadline=deadline)
    except HazardRuleError as error:
        raise refused(error) from None
    before_row, before = snapshot(hazard), hazard.state
    if step is Step.ASSIGN:
        if not assignee:
            raise InvalidInput("name the street office or department dispatched to", field="assignee")
        hazard.deadline, hazard.assignee = deadline, assignee
        hazard.level = level or (Level.STREET if hazard.level is Level.GRID else hazard.level)
    elif step is Step.RECTIFY:
        hazard.evidence_photos = list(evidence)
    elif step is Step.ESCALATE:
        hazard.level = escalation_target(hazard.level)
    hazard.state, hazard.updated_at = target, now
    db.flush()
    _event(db, hazard, step=step.value, before=before, by=actor.username, by_id=actor.user_id, at=now, note=note)
    record(db, actor=actor, action=f"hazard.{step.value}", entity="hazard", entity_id=hazard.id, now=now,
           before=before_row, after=snapshot(hazard))
    return hazard


def escalate_overdue(db: Session, *, now: datetime, grace: timedelta, limit: int = 500) -> list[int]:
    """The timeout rule (run by the rules worker under its lease): every open hazard still open ``grace`` after
    its deadline is escalated one level (street → district), with an event by ``system``."""
    rows = db.execute(select(Hazard).where(Hazard.state.in_(OPEN), Hazard.deadline.is_not(None),
                                           Hazard.deadline <= now - grace)
                      .order_by(Hazard.id).limit(limit).with_for_update(skip_locked=True)).scalars().all()
    escalated: list[int] = []
    for hazard in rows:
        if not timed_out(state=hazard.state, deadline=hazard.deadline, now=now, grace=grace):
            continue
        facts = Facts(state=hazard.state, mode=hazard.mode, reported_at=hazard.reported_at,
                      last_step_at=min(now, _last_step_at(db, hazard)))
        before_row, before = snapshot(hazard), hazard.state
        hazard.state = next_state(facts, Step.ESCALATE, Actor(ActorKind.SYSTEM), now=now)
        previous_level = hazard.level
        hazard.level, hazard.updated_at = escalation_target(hazard.level), now
        db.flush()
        _event(db, hazard, step=Step.ESCALATE.value, before=before, by=SYSTEM, by_id=None, at=now,
               note=f"期限已过，升级 / deadline passed: {previous_level.value} → {hazard.level.value}")
        record(db, actor=None, action="hazard.escalate", entity="hazard", entity_id=hazard.id, now=now,
               before=before_row, after=snapshot(hazard), actor_name=SYSTEM)
        escalated.append(hazard.id)
    return escalated


def list_hazards(db: Session, *, actor: Principal, enterprise_id: int | None = None, grid_id: int | None = None,
                 state: HazardState | None = None, severity: Severity | None = None, source: Source | None = None,
                 flagged_for_enforcement: bool | None = None, limit: int, offset: int) -> tuple[list[Hazard], int]:
    stmt = owned_query(Hazard, actor)
    for column, value in ((Hazard.enterprise_id, enterprise_id), (Hazard.grid_id, grid_id), (Hazard.state, state),
                          (Hazard.severity, severity), (Hazard.source, source),
                          (Hazard.flagged_for_enforcement, flagged_for_enforcement)):
        if value is not None:
            stmt = stmt.where(column == value)
    return fetch_page(db, stmt.order_by(Hazard.reported_at.desc()), order_by=Hazard.id.desc(), limit=limit,
                      offset=offset)


def events(db: Session, hazard: Hazard) -> list[HazardEvent]:
    return list(db.execute(select(HazardEvent).where(HazardEvent.hazard_id == hazard.id)
                           .order_by(HazardEvent.id)).scalars().all())


def enterprise_by_uscc(db: Session, *, actor: Principal, uscc: str) -> Enterprise:
    """A public report names the enterprise by its USCC (routing by address is a later item): 422 on ``uscc``
    when no enterprise in the caller's scope has it."""
    row = db.execute(scoped_query(Enterprise, actor).where(Enterprise.uscc == uscc)).scalar_one_or_none()
    if row is None:
        raise InvalidInput("no such enterprise in your scope", field="uscc")
    return row
