"""Bulk binding from a table (CSV or .xlsx): officers to grids and enterprises to grids, all rows or none.

Columns ``grid_code, username, role, uscc``. A row names either a user (``username`` and ``role``: grid_officer,
area_lead, rectification_officer, other_force) or an enterprise (``uscc``; it moves to that grid). Every row is
checked first and every problem is listed by row and column; with ``dry_run`` nothing is written even when the
table is clean, without it any problem refuses the whole table (422) and nothing is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.audit.service import record
from cloud.auth.models import User
from cloud.auth.roles import Principal, Role
from cloud.db.base import snapshot
from cloud.grid.models import BindingRole, Community, GridArea, GridPlacement, OfficerBinding
from cloud.registry.areas_service import create_grid
from cloud.registry.importer import ImportRejected
from cloud.registry.models import ConfinedSpace, Enterprise, Grid, Street
from cloud.registry.schemas import GridCreate, ImportRowError, SpaceCreate
from cloud.registry.uploads import read_table
from cloud.scope import enterprises_filter, grids_filter, streets_filter, users_filter

COLUMNS = ("grid_code", "username", "role", "uscc")
_NAME_MAX = 128
_GRID_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")  # the registry's Code
_CHUNK = 500  # keeps IN (...) lists within every backend's parameter limit


@dataclass
class Plan:
    """What a clean table would do, and what is wrong with it."""

    officers: list[tuple[Grid, User, BindingRole]] = field(default_factory=list)
    enterprises: list[tuple[Grid, Enterprise]] = field(default_factory=list)
    problems: list[ImportRowError] = field(default_factory=list)

    def problem(self, row: int, column: str, message: str) -> None:
        self.problems.append(ImportRowError(row=row, field=column, message=message))


def _chunked_in(db: Session, stmt_of: type[User] | type[Enterprise], column: str, keys: set[str],
                principal: Principal) -> dict[str, User | Enterprise]:
    out: dict[str, User | Enterprise] = {}
    values = sorted(keys)
    visible = users_filter(principal) if stmt_of is User else enterprises_filter(principal)
    model: Any = stmt_of  # one of two mapped classes; mypy sees their common base
    attr = getattr(model, column)
    for i in range(0, len(values), _CHUNK):
        for row in db.execute(select(model).where(attr.in_(values[i:i + _CHUNK]), visible)).scalars():
            out[getattr(row, column)] = row
    return out


def plan_bindings(db: Session, *, actor: Principal, data: bytes, content_type: str | None, max_rows: int,
                  max_bytes: int) -> Plan:
    rows = read_table(data, content_type=content_type, max_rows=max_rows, max_bytes=max_bytes,
                      columns=COLUMNS)
    grids = {g.code: g for g in db.execute(select(Grid).where(grids_filter(actor))).scalars()}
    users = _chunked_in(db, User, "username", {r["username"] for _, r in rows if r["username"]}, actor)
    firms = _chunked_in(db, Enterprise, "uscc", {r["uscc"].upper() for _, r in rows if r["uscc"]}, actor)
    bound = {(g, u) for g, u in db.execute(select(OfficerBinding.grid_id, OfficerBinding.user_id))}
    plan = Plan()
    seen_pairs: dict[tuple[int, int], int] = {}
    seen_firms: dict[str, int] = {}
    for number, row in rows:
        grid = grids.get(row["grid_code"])
        if grid is None:
            plan.problem(number, "grid_code", "no such grid in your scope")
        if bool(row["username"]) == bool(row["uscc"]):
            plan.problem(number, "username", "give either username (an officer) or uscc (an enterprise)")
            continue
        if row["uscc"]:
            _plan_enterprise(plan, number, row, grid, firms, seen_firms)
        else:
            _plan_officer(plan, number, row, grid, users, bound, seen_pairs)
    plan.problems.sort(key=lambda p: (p.row, COLUMNS.index(p.field) if p.field in COLUMNS else 0))
    return plan


def _plan_enterprise(plan: Plan, number: int, row: dict[str, str], grid: Grid | None,
                     firms: dict[str, User | Enterprise], seen: dict[str, int]) -> None:
    uscc = row["uscc"].upper()
    if row["role"]:
        plan.problem(number, "role", "an enterprise row takes no role")
    firm = firms.get(uscc)
    if uscc in seen:
        plan.problem(number, "uscc", f"enterprise bound twice (also row {seen[uscc]})")
        return
    seen[uscc] = number
    if not isinstance(firm, Enterprise):
        plan.problem(number, "uscc", "no such enterprise in your scope")
    elif grid is not None and not row["role"]:
        plan.enterprises.append((grid, firm))


def _plan_officer(plan: Plan, number: int, row: dict[str, str], grid: Grid | None,
                  users: dict[str, User | Enterprise], bound: set[tuple[int, int]],
                  seen: dict[tuple[int, int], int]) -> None:
    user = users.get(row["username"])
    try:
        role: BindingRole | None = BindingRole(row["role"])
    except ValueError:
        plan.problem(number, "role", f"role must be one of {[r.value for r in BindingRole]}")
        role = None
    if not isinstance(user, User):
        plan.problem(number, "username", "no such user in your scope")
        return
    if role is BindingRole.GRID_OFFICER and user.role is not Role.GRID_OFFICER:
        plan.problem(number, "role", "a grid_officer binding needs a user with the grid_officer role")
        return
    if grid is None or role is None:
        return
    pair = (grid.id, user.id)
    if pair in bound:
        plan.problem(number, "username", "already bound to this grid")
    elif pair in seen:
        plan.problem(number, "username", f"bound to this grid twice (also row {seen[pair]})")
    else:
        seen[pair] = number
        plan.officers.append((grid, user, role))


def apply_plan(db: Session, *, actor: Principal, plan: Plan, now: datetime) -> None:
    """Write a clean plan in the caller's transaction (refuses one with problems, writing nothing)."""
    if plan.problems:
        raise ImportRejected(plan.problems)
    for grid, user, role in plan.officers:
        binding = OfficerBinding(grid_id=grid.id, user_id=user.id, role=role, created_at=now)
        db.add(binding)
        db.flush()
        record(db, actor=actor, action="grid.bind", entity="grid_officer_binding", entity_id=binding.id, now=now,
               after={"grid_id": grid.id, "user_id": user.id, "role": role.value})
    for grid, firm in plan.enterprises:
        if firm.grid_id == grid.id:
            continue
        before = {"grid_id": firm.grid_id, "street_id": firm.street_id, "district_id": firm.district_id}
        firm.grid_id, firm.street_id, firm.district_id = grid.id, grid.street_id, grid.district_id
        firm.updated_at = now
        record(db, actor=actor, action="enterprise.bind", entity="enterprise", entity_id=firm.id, now=now,
               before=before, after={"grid_id": grid.id, "street_id": grid.street_id,
                                     "district_id": grid.district_id})
    db.flush()


# -- the confined-space ledger --------------------------------------------------------------------------------

SPACE_COLUMNS = ("uscc", "code", "name", "space_type", "location", "hazards", "gas_profile", "rescue_notes")


@dataclass
class SpacePlan:
    spaces: list[SpaceCreate] = field(default_factory=list)
    problems: list[ImportRowError] = field(default_factory=list)


def _split(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[;；]", text) if p.strip()]


def plan_spaces(db: Session, *, actor: Principal, data: bytes, content_type: str | None, max_rows: int,
                max_bytes: int) -> SpacePlan:
    """Check every row of a confined-space table (``SPACE_COLUMNS``; ``hazards`` separated by ``;``) against
    the registry's own rules: the enterprise in the caller's scope, a code not yet used in that enterprise nor
    twice in the table, every field as ``POST /confined-spaces`` takes it."""
    rows = read_table(data, content_type=content_type, max_rows=max_rows, max_bytes=max_bytes,
                      columns=SPACE_COLUMNS)
    firms = _chunked_in(db, Enterprise, "uscc", {r["uscc"].upper() for _, r in rows if r["uscc"]}, actor)
    ids = [f.id for f in firms.values()]
    taken: set[tuple[int, str]] = set()
    for i in range(0, len(ids), _CHUNK):
        taken.update((e, c) for e, c in db.execute(select(ConfinedSpace.enterprise_id, ConfinedSpace.code)
                                                   .where(ConfinedSpace.enterprise_id.in_(ids[i:i + _CHUNK]))))
    plan = SpacePlan()
    seen: dict[tuple[int, str], int] = {}
    for number, row in rows:
        firm = firms.get(row["uscc"].upper())
        if not isinstance(firm, Enterprise):
            plan.problems.append(ImportRowError(row=number, field="uscc", message="no such enterprise in your scope"))
        try:
            item = SpaceCreate.model_validate({
                "enterprise_id": firm.id if isinstance(firm, Enterprise) else 1,
                **{k: row[k] for k in ("code", "name", "space_type", "location", "gas_profile", "rescue_notes")},
                "hazards": _split(row["hazards"])})
        except ValidationError as exc:
            plan.problems.extend(ImportRowError(row=number, field=str(e["loc"][0]) if e["loc"] else None,
                                                message=e["msg"]) for e in exc.errors())
            continue
        if not isinstance(firm, Enterprise):
            continue
        key = (firm.id, item.code)
        if key in taken:
            plan.problems.append(ImportRowError(row=number, field="code", message="the enterprise already has "
                                                                                  "a space with this code"))
        elif key in seen:
            plan.problems.append(ImportRowError(row=number, field="code",
                                                message=f"same enterprise and code as row {seen[key]}"))
        else:
            seen[key] = number
            plan.spaces.append(item)
    plan.problems.sort(key=lambda p: (p.row, SPACE_COLUMNS.index(p.field) if p.field in SPACE_COLUMNS else 0))
    return plan


def apply_spaces(db: Session, *, actor: Principal, plan: SpacePlan, now: datetime) -> list[int]:
    """Store a clean plan in the caller's transaction (refuses one with problems, storing nothing)."""
    if plan.problems:
        raise ImportRejected(plan.problems)
    ids: list[int] = []
    for item in plan.spaces:
        space = ConfinedSpace(**item.model_dump(mode="json"), created_at=now, updated_at=now)
        db.add(space)
        db.flush()
        record(db, actor=actor, action="confined_space.import", entity="confined_space", entity_id=space.id,
               now=now, after=snapshot(space))
        ids.append(space.id)
    return ids


# -- grids with their community and area ----------------------------------------------------------------------

GRID_COLUMNS = ("street_code", "community", "area", "grid_code", "grid_name")


@dataclass
class GridPlan:
    grids: list[tuple[Street, str, str, str, str]] = field(default_factory=list)  # street, code, name, comm, area
    problems: list[ImportRowError] = field(default_factory=list)


def plan_grids(db: Session, *, actor: Principal, data: bytes, content_type: str | None, max_rows: int,
               max_bytes: int) -> GridPlan:
    """Check a table of grids (``GRID_COLUMNS``): the street in the caller's scope, a grid code valid, unused
    and not twice in the table, a name, a community; the area may be empty (a community without areas)."""
    rows = read_table(data, content_type=content_type, max_rows=max_rows, max_bytes=max_bytes,
                      columns=GRID_COLUMNS)
    streets = {s.code: s for s in db.execute(select(Street).where(streets_filter(actor))).scalars()}
    codes = sorted({r["grid_code"] for _, r in rows})
    taken: set[str] = set()
    for i in range(0, len(codes), _CHUNK):
        taken.update(db.execute(select(Grid.code).where(Grid.code.in_(codes[i:i + _CHUNK]))).scalars())
    plan = GridPlan()
    seen: dict[str, int] = {}
    for number, row in rows:
        bad = len(plan.problems)
        street = streets.get(row["street_code"])
        if street is None:
            plan.problems.append(ImportRowError(row=number, field="street_code", message="no such street in your "
                                                                                          "scope"))
        for column in ("community", "area", "grid_name"):
            if len(row[column]) > _NAME_MAX or (column != "area" and not row[column]):
                plan.problems.append(ImportRowError(row=number, field=column,
                                                    message=f"needs 1 to {_NAME_MAX} characters"))
        code = row["grid_code"]
        if not _GRID_CODE.fullmatch(code):
            plan.problems.append(ImportRowError(row=number, field="grid_code", message="letters, digits, . _ -; "
                                                                                      "at most 32"))
        elif code in taken:
            plan.problems.append(ImportRowError(row=number, field="grid_code", message="already registered"))
        elif code in seen:
            plan.problems.append(ImportRowError(row=number, field="grid_code", message=f"same code as row "
                                                                                      f"{seen[code]}"))
        seen.setdefault(code, number)
        if street is not None and len(plan.problems) == bad:
            plan.grids.append((street, code, row["grid_name"], row["community"], row["area"]))
    plan.problems.sort(key=lambda p: (p.row, GRID_COLUMNS.index(p.field) if p.field in GRID_COLUMNS else 0))
    return plan


def apply_grids(db: Session, *, actor: Principal, plan: GridPlan, now: datetime) -> list[int]:
    """Create the grids (through the registry's own service, which audits them), their communities and areas
    where new, and place each grid. Refuses a plan with problems, storing nothing."""
    if plan.problems:
        raise ImportRejected(plan.problems)
    communities: dict[tuple[int, str], Community] = {}
    areas: dict[tuple[int, str], GridArea] = {}
    ids: list[int] = []
    for street, code, name, community_name, area_name in plan.grids:
        grid = create_grid(db, actor=actor, data=GridCreate(street_id=street.id, code=code, name=name), now=now)
        community = communities.get((street.id, community_name)) or db.execute(
            select(Community).where(Community.street_id == street.id, Community.name == community_name)
        ).scalar_one_or_none()
        if community is None:
            community = Community(name=community_name, street_id=street.id, district_id=street.district_id)
            db.add(community)
            db.flush()
        communities[(street.id, community_name)] = community
        area: GridArea | None = None
        if area_name:
            area = areas.get((community.id, area_name)) or db.execute(
                select(GridArea).where(GridArea.community_id == community.id, GridArea.name == area_name)
            ).scalar_one_or_none()
            if area is None:
                area = GridArea(name=area_name, community_id=community.id)
                db.add(area)
                db.flush()
            areas[(community.id, area_name)] = area
        db.add(GridPlacement(grid_id=grid.id, community_id=community.id, area_id=area.id if area else None))
        ids.append(grid.id)
    db.flush()
    return ids
