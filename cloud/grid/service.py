"""Grid services: bind an officer to a grid, and count a street's or district's grids for the balance report."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from cloud.audit.service import record
from cloud.auth.models import User
from cloud.auth.roles import Principal, Role
from cloud.errors import Conflict, InvalidInput
from cloud.grid.models import BindingRole, Community, GridArea, GridPlacement, OfficerBinding
from cloud.grid.rules import Balance, GridCount, balance
from cloud.registry.models import Enterprise, Grid
from cloud.scope import users_filter


def bind_officer(db: Session, *, actor: Principal, grid: Grid, user_id: int, role: BindingRole,
                 now: datetime) -> OfficerBinding:
    """Bind a user (in the actor's scope) to ``grid``. A grid_officer binding needs a user with that role; the
    same user twice on one grid is a 409. Officer counts are reported, not enforced (``cloud.grid.rules``)."""
    user = db.execute(select(User).where(User.id == user_id, users_filter(actor))).scalar_one_or_none()
    if user is None:
        raise InvalidInput("no such user in your scope", field="user_id")
    if role is BindingRole.GRID_OFFICER and user.role is not Role.GRID_OFFICER:
        raise InvalidInput("a grid_officer binding needs a user with the grid_officer role", field="role")
    taken = db.execute(select(OfficerBinding.id).where(OfficerBinding.grid_id == grid.id,
                                                       OfficerBinding.user_id == user.id)).first()
    if taken is not None:
        raise Conflict("this user is already bound to this grid", field="user_id")
    row = OfficerBinding(grid_id=grid.id, user_id=user.id, role=role, created_at=now)
    db.add(row)
    db.flush()
    record(db, actor=actor, action="grid.bind", entity="grid_officer_binding", entity_id=row.id, now=now,
           after={"grid_id": grid.id, "user_id": user.id, "role": role.value})
    return row


def grid_balance(db: Session, *, area: ColumnElement[bool], user_area: ColumnElement[bool],
                 load: int) -> tuple[Balance, list[str]]:
    """The balance of the grids matching ``area`` (a condition on ``Grid``), and the usernames of grid officers
    scoped inside it (``user_area``, a condition on ``User``) that no binding names."""
    enterprises = (select(Enterprise.grid_id, func.count().label("n")).group_by(Enterprise.grid_id).subquery())
    officers = (select(OfficerBinding.grid_id, func.count().label("n"))
                .where(OfficerBinding.role == BindingRole.GRID_OFFICER).group_by(OfficerBinding.grid_id).subquery())
    rows = db.execute(
        select(Grid.id, Grid.code, func.coalesce(enterprises.c.n, 0), func.coalesce(officers.c.n, 0))
        .outerjoin(enterprises, enterprises.c.grid_id == Grid.id)
        .outerjoin(officers, officers.c.grid_id == Grid.id)
        .where(area)).all()
    report = balance((GridCount(grid_id=i, code=c, enterprises=int(e), officers=int(o)) for i, c, e, o in rows),
                     load=load)
    unbound = list(db.execute(
        select(User.username).where(User.role == Role.GRID_OFFICER, user_area,
                                    ~select(OfficerBinding.id).where(OfficerBinding.user_id == User.id).exists())
        .order_by(User.username)).scalars())
    return report, unbound


def placements(db: Session, *, grid_ids: list[int]) -> dict[int, tuple[str, str | None]]:
    """(community, area) of each placed grid among ``grid_ids`` (grids placed by the grid import)."""
    out: dict[int, tuple[str, str | None]] = {}
    for i in range(0, len(grid_ids), 500):
        rows = db.execute(select(GridPlacement.grid_id, Community.name, GridArea.name)
                          .join(Community, Community.id == GridPlacement.community_id)
                          .outerjoin(GridArea, GridArea.id == GridPlacement.area_id)
                          .where(GridPlacement.grid_id.in_(grid_ids[i:i + 500])))
        out.update({g: (c, a) for g, c, a in rows})
    return out


CSV_COLUMNS = ("grid_code", "community", "area", "enterprises", "officers", "per_officer", "too_few_officers",
               "too_many_officers", "over_load")


def balance_csv(report: Balance, places: dict[int, tuple[str, str | None]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for v in report.grids:
        community, area = places.get(v.grid_id, ("", None))
        per = "" if v.per_officer is None else v.per_officer
        writer.writerow([v.code, community, area or "", v.enterprises, v.officers, per, v.too_few_officers,
                         v.too_many_officers, v.over_load])
    return out.getvalue()
