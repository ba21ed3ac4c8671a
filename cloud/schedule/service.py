"""Schedule service: plan a period's patrol tasks for the enterprises in the actor's scope; change a frequency and
re-plan that enterprise's future tasks. The rules are in :mod:`cloud.schedule.plan`; this module reads and writes.

Officers come from what exists today: users with the grid-officer role whose scope is the grid. The grid domain's
officer↔grid bindings will replace :func:`officers_by_grid` without changing the planner.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import ColumnElement, insert, select, update
from sqlalchemy.orm import Session

from cloud.audit.service import record
from cloud.auth.models import User
from cloud.auth.roles import Principal, Role, ScopeKind
from cloud.errors import InvalidInput
from cloud.registry.models import Enterprise
from cloud.schedule.models import FrequencyOverride, PatrolTask, PlanRunRow
from cloud.schedule.plan import Frequency, PlanError, Task, plan, replan
from cloud.scope import enterprises_filter, visible

OPEN, DONE, CANCELLED = "open", "done", "cancelled"
MAX_PERIOD_DAYS = 366  # a run is a month, a quarter or a year; longer ones are planned year by year


def officers_by_grid(db: Session) -> dict[int, list[int]]:
    rows = db.execute(select(User.grid_id, User.id).where(
        User.role == Role.GRID_OFFICER, User.scope_kind == ScopeKind.GRID, User.active.is_(True)))
    out: dict[int, list[int]] = defaultdict(list)
    for grid_id, user_id in rows:
        if grid_id is not None:
            out[grid_id].append(user_id)
    return out


def frequency_of(db: Session, *, enterprise_id: int, default: Frequency) -> Frequency:
    row = db.get(FrequencyOverride, enterprise_id)
    return Frequency(row.frequency) if row else default


def plan_period(db: Session, *, actor: Principal, start: date, end: date, seed: int, sample_rate: float,
                default: Frequency, now: datetime) -> PlanRunRow:
    """Plan ``[start, end]`` for every enterprise in the actor's scope; the run keeps its seed and drawn set."""
    if (end - start).days > MAX_PERIOD_DAYS:
        raise InvalidInput(f"a run plans at most {MAX_PERIOD_DAYS} days", field="end")
    overrides = {eid: f for eid, f in db.execute(select(FrequencyOverride.enterprise_id, FrequencyOverride.frequency))}
    places: dict[int, tuple[int, int]] = {}
    rows: list[tuple[int, int, Frequency]] = []
    for eid, gid, did, sid in db.execute(select(Enterprise.id, Enterprise.grid_id, Enterprise.district_id,
                                                Enterprise.street_id).where(enterprises_filter(actor))):
        places[eid] = (did, sid)
        rows.append((eid, gid, Frequency(overrides.get(eid, default))))
    try:
        run = plan(rows, officers_by_grid(db), start=start, end=end, sample_rate=sample_rate, seed=seed)
    except PlanError as exc:
        raise InvalidInput(str(exc), field=exc.field) from exc
    # Planning a period again (or an overlapping one) adds only what is missing: a window an enterprise already
    # has a task for (open or done) is skipped, so a repeated run never doubles anyone's work.
    earliest = min((t.start for t in run.tasks), default=start)
    planned = {(e, s) for e, s in db.execute(select(PatrolTask.enterprise_id, PatrolTask.start).where(
        PatrolTask.status != CANCELLED, PatrolTask.start >= earliest, PatrolTask.start <= end))}
    new = [t for t in run.tasks if (t.enterprise_id, t.start) not in planned]
    row = PlanRunRow(period_start=start, period_end=end, seed=seed, sample_rate=sample_rate,
                     sampled=list(run.sampled), tasks=len(new), created_by=actor.user_id, created_at=now)
    db.add(row)
    db.flush()
    _insert(db, new, places, run_id=row.id, now=now)
    record(db, actor=actor, action="schedule.plan", entity="schedule_run", entity_id=row.id, now=now,
           after={"period_start": start.isoformat(), "period_end": end.isoformat(), "seed": seed,
                  "sample_rate": sample_rate, "tasks": len(new), "already_planned": len(run.tasks) - len(new),
                  "sampled": len(run.sampled)})
    return row


def _insert(db: Session, tasks: tuple[Task, ...] | list[Task], places: dict[int, tuple[int, int]], *,
            run_id: int | None, now: datetime) -> None:
    if tasks:  # one executemany: the month for a whole city is ~100,000 rows
        db.execute(insert(PatrolTask), [
            {"enterprise_id": t.enterprise_id, "grid_id": t.grid_id, "district_id": places[t.enterprise_id][0],
             "street_id": places[t.enterprise_id][1], "officer_id": t.officer_id, "start": t.start, "due": t.due,
             "status": OPEN, "run_id": run_id, "created_at": now} for t in tasks])


def set_frequency(db: Session, *, actor: Principal, enterprise: Enterprise, frequency: Frequency, today: date,
                  horizon_end: date, now: datetime) -> tuple[int, int]:
    """Set an enterprise's frequency and re-plan its open future tasks up to ``horizon_end``.

    Done tasks and tasks whose window has started are never touched. Returns (cancelled, added).
    """
    current = db.get(FrequencyOverride, enterprise.id)
    before = {"frequency": current.frequency} if current else None
    if current is None:
        db.add(FrequencyOverride(enterprise_id=enterprise.id, frequency=frequency.value, set_by=actor.user_id,
                                 set_at=now))
    else:
        current.frequency, current.set_by, current.set_at = frequency.value, actor.user_id, now
    stored = list(db.execute(select(PatrolTask).where(PatrolTask.enterprise_id == enterprise.id,
                                                      PatrolTask.status != CANCELLED)).scalars())
    by_task = {Task(r.enterprise_id, r.grid_id, r.start, r.due, r.officer_id): r for r in stored}
    result = replan(enterprise.id, enterprise.grid_id, frequency,
                    existing=[(t, r.status == DONE) for t, r in by_task.items()],
                    officers=officers_by_grid(db).get(enterprise.grid_id, []), today=today, horizon_end=horizon_end)
    cancel_ids = [by_task[t].id for t in result.cancel]
    if cancel_ids:
        db.execute(update(PatrolTask).where(PatrolTask.id.in_(cancel_ids)).values(status=CANCELLED))
    _insert(db, result.add, {enterprise.id: (enterprise.district_id, enterprise.street_id)}, run_id=None, now=now)
    record(db, actor=actor, action="schedule.frequency", entity="enterprise", entity_id=enterprise.id, now=now,
           before=before, after={"frequency": frequency.value, "cancelled": len(cancel_ids),
                                 "added": len(result.add)})
    db.flush()
    return len(cancel_ids), len(result.add)


def tasks_filter(actor: Principal) -> ColumnElement[bool]:
    """Tasks an actor sees: officers their grids', supervisors their area's; enterprises none (records only)."""
    return visible(actor, district=PatrolTask.district_id, street=PatrolTask.street_id, grid=PatrolTask.grid_id)
