"""Object-level authorization for the registries: SQL filters of what a principal may see, and lookups
that answer 404 alike for "does not exist" and "outside your scope".

Visibility flows downward: an object is visible when it lies inside the caller's scope. Other domains
filter their rows through :func:`enterprises_filter` (join to the enterprise) or :func:`visible`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from cloud.auth.roles import Principal, Scope, ScopeKind
from cloud.errors import NotFound
from cloud.registry.models import ConfinedSpace, District, Enterprise, Grid, Street

M = TypeVar("M")
Column = InstrumentedAttribute[int] | InstrumentedAttribute[int | None]


def visible(actor: Principal, *, district: Column | None = None, street: Column | None = None,
            grid: Column | None = None, enterprise: Column | None = None) -> ColumnElement[bool]:
    """True for rows inside the actor's scope. Pass the row's columns for each level it has; a row without
    the actor's level (a district row, for a grid officer) is not visible."""
    scope = actor.scope
    if scope.kind is ScopeKind.CITY:
        return true()
    column = {ScopeKind.DISTRICT: district, ScopeKind.STREET: street, ScopeKind.GRID: grid,
              ScopeKind.ENTERPRISE: enterprise}[scope.kind]
    return false() if column is None else column == scope.id


def districts_filter(actor: Principal) -> ColumnElement[bool]:
    return visible(actor, district=District.id)


def streets_filter(actor: Principal) -> ColumnElement[bool]:
    return visible(actor, district=Street.district_id, street=Street.id)


def grids_filter(actor: Principal) -> ColumnElement[bool]:
    return visible(actor, district=Grid.district_id, street=Grid.street_id, grid=Grid.id)


def enterprises_filter(actor: Principal) -> ColumnElement[bool]:
    return visible(actor, district=Enterprise.district_id, street=Enterprise.street_id, grid=Enterprise.grid_id,
                   enterprise=Enterprise.id)


def spaces_query(actor: Principal) -> Select[tuple[ConfinedSpace]]:
    return select(ConfinedSpace).join(Enterprise, ConfinedSpace.enterprise_id == Enterprise.id).where(
        enterprises_filter(actor))


_FILTERS: dict[type[Any], Any] = {District: districts_filter, Street: streets_filter, Grid: grids_filter,
                                  Enterprise: enterprises_filter}


def get_visible(db: Session, *, model: type[M], object_id: int, actor: Principal, what: str) -> M:
    """The row, or 404 — the same answer whether it does not exist or lies outside the actor's scope."""
    if model is ConfinedSpace:
        row = db.execute(spaces_query(actor).where(ConfinedSpace.id == object_id)).scalar_one_or_none()
    else:
        row = db.execute(select(model).where(model.id == object_id,  # type: ignore[attr-defined]
                                             _FILTERS[model](actor))).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no such {what}")
    return row


def scope_path(db: Session, scope: Scope) -> dict[ScopeKind, int] | None:
    """The scope and every area containing it (an enterprise's grid, street and district), or ``None`` if the
    scope's object does not exist."""
    if scope.kind is ScopeKind.CITY:
        return {}
    assert scope.id is not None
    model: Any = {ScopeKind.DISTRICT: District, ScopeKind.STREET: Street, ScopeKind.GRID: Grid,
                  ScopeKind.ENTERPRISE: Enterprise}[scope.kind]
    row = db.get(model, scope.id)
    if row is None:
        return None
    path = {scope.kind: scope.id}
    for kind, attr in ((ScopeKind.DISTRICT, "district_id"), (ScopeKind.STREET, "street_id"),
                       (ScopeKind.GRID, "grid_id")):
        if kind is not scope.kind and hasattr(row, attr):
            path[kind] = getattr(row, attr)
    return path


def scope_within(db: Session, inner: Scope, outer: Scope) -> bool:
    """Whether ``inner`` exists and lies inside ``outer`` (a scope lies inside itself)."""
    path = scope_path(db, inner)
    if path is None:
        return False
    return outer.kind is ScopeKind.CITY or path.get(outer.kind) == outer.id


def scoped_user_filter(actor: Principal, columns: dict[ScopeKind, Column]) -> ColumnElement[bool]:
    """Rows scoped somewhere inside the actor's scope, given the row's per-kind scope columns (users)."""
    if actor.scope.kind is ScopeKind.CITY:
        return true()
    areas: dict[ScopeKind, Any] = {ScopeKind.DISTRICT: (District, districts_filter),
                                   ScopeKind.STREET: (Street, streets_filter), ScopeKind.GRID: (Grid, grids_filter),
                                   ScopeKind.ENTERPRISE: (Enterprise, enterprises_filter)}
    return or_(*(columns[kind].in_(select(model.id).where(flt(actor))) for kind, (model, flt) in areas.items()))
