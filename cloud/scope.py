"""Object-level authorization, in one place: what a principal may see, as SQL filters and as dependencies.

Visibility flows downward: an object is visible when it lies inside the caller's scope (city ⊃ district ⊃
street ⊃ grid ⊃ enterprise); enterprise-owned rows (spaces, gateways, padlocks, detectors, workers, permits,
alerts) are visible where their enterprise is. Anything outside is answered exactly like a missing object (404,
``cloud/errors.py``); ``Forbidden`` is for what a role may never do (``cloud.auth.policy``).

- Lists filter their query with :func:`enterprises_filter`, :func:`owned_query` and the area filters.
- A route that takes an object's id takes the object instead, through an ``Annotated`` dependency built by
  :func:`in_scope` of a :class:`Kind` (``VisiblePermit``, ``VisibleEnterprise``, …): the signature shows that
  scope was checked, and the route never sees an object it may not. With ``action=``, the role check runs
  first (403 before 404).
- An id inside a request body is looked up with :func:`visible_enterprise` / :func:`visible_space` (422).

This module imports domains' ``models`` only (data definitions), never their services or routers.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from cloud.alerts.models import Alert
from cloud.auth.deps import CurrentUser, allowed
from cloud.auth.models import User
from cloud.auth.policy import Action
from cloud.auth.roles import Principal, Scope, ScopeKind
from cloud.deps import DbSession
from cloud.devices.deps import GatewayPath
from cloud.devices.models import Detector, Gateway, Padlock
from cloud.errors import InvalidInput, NotFound
from cloud.permits.models import Permit
from cloud.registry.models import ConfinedSpace, District, Enterprise, Grid, Street
from cloud.schemas import PathId
from cloud.workers.models import Worker

M = TypeVar("M")
Column = InstrumentedAttribute[int] | InstrumentedAttribute[int | None]

# -- filters -------------------------------------------------------------------------------------------------------


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


_AREA_FILTERS: dict[type[Any], Any] = {District: districts_filter, Street: streets_filter, Grid: grids_filter,
                                       Enterprise: enterprises_filter}


def owned_query(model: type[M], actor: Principal) -> Select[M]:
    """Rows of ``model`` (which has ``enterprise_id``) whose enterprise lies in the actor's scope."""
    owner: Any = model
    return select(model).join(Enterprise, owner.enterprise_id == Enterprise.id).where(enterprises_filter(actor))


def spaces_query(actor: Principal) -> Select[ConfinedSpace]:
    return owned_query(ConfinedSpace, actor)


def scoped_query(model: type[M], actor: Principal) -> Select[M]:
    """Every row of ``model`` the actor may see: an area or enterprise by its own columns, anything else through
    its enterprise."""
    if model in _AREA_FILTERS:
        return select(model).where(_AREA_FILTERS[model](actor))
    return owned_query(model, actor)


def visible_enterprise(db: Session, *, actor: Principal, enterprise_id: int,
                       field: str = "enterprise_id") -> Enterprise:
    """The enterprise named in a request body, or 422 on ``field`` when it does not exist or is out of scope."""
    row = db.execute(scoped_query(Enterprise, actor).where(Enterprise.id == enterprise_id)).scalar_one_or_none()
    if row is None:
        raise InvalidInput("no such enterprise in your scope", field=field)
    return row


def visible_space(db: Session, *, actor: Principal, space_id: int, field: str = "space_id") -> ConfinedSpace:
    """The confined space named in a request body, or 422 on ``field``."""
    row = db.execute(spaces_query(actor).where(ConfinedSpace.id == space_id)).scalar_one_or_none()
    if row is None:
        raise InvalidInput("no such confined space in your scope", field=field)
    return row


# -- scopes within scopes (users) ----------------------------------------------------------------------------------


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
    path: dict[ScopeKind, int] = {scope.kind: scope.id}
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
    areas: dict[ScopeKind, Any] = {ScopeKind.DISTRICT: District, ScopeKind.STREET: Street, ScopeKind.GRID: Grid,
                                   ScopeKind.ENTERPRISE: Enterprise}
    return or_(*(columns[kind].in_(select(model.id).where(_AREA_FILTERS[model](actor)))
                 for kind, model in areas.items()))


def users_filter(actor: Principal) -> ColumnElement[bool]:
    """Users scoped somewhere inside the actor's scope."""
    return scoped_user_filter(actor, {ScopeKind.DISTRICT: User.district_id, ScopeKind.STREET: User.street_id,
                                      ScopeKind.GRID: User.grid_id, ScopeKind.ENTERPRISE: User.enterprise_id})


# -- dependencies --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """A kind of object a route names in its path: its model, path parameter and name in a 404."""

    model: type[Any]
    param: str
    what: str
    path_type: Any = PathId
    query: Callable[[Principal], Select[Any]] | None = None  # default: scoped_query(model, actor)


DISTRICT = Kind(District, "district_id", "district")
STREET = Kind(Street, "street_id", "street")
GRID = Kind(Grid, "grid_id", "grid")
ENTERPRISE = Kind(Enterprise, "enterprise_id", "enterprise")
SPACE = Kind(ConfinedSpace, "space_id", "confined space")
GATEWAY = Kind(Gateway, "gateway_id", "gateway", path_type=GatewayPath)
PADLOCK = Kind(Padlock, "padlock_id", "padlock")
DETECTOR = Kind(Detector, "detector_id", "detector")
WORKER = Kind(Worker, "worker_id", "worker")
PERMIT = Kind(Permit, "permit_id", "permit")
ALERT = Kind(Alert, "alert_id", "alert")
USER = Kind(User, "user_id", "user", query=lambda actor: select(User).where(users_filter(actor)))


def in_scope(kind: Kind, *, action: Action | None = None, lock: bool = False) -> Any:
    """``Depends`` giving the row the path names, or 404 when it is missing or outside the caller's scope. With
    ``action``, the caller's role must allow it first (403 otherwise, whatever the object). With ``lock``, the row
    is read ``FOR UPDATE`` (a state change that must not race another)."""
    actor_type = CurrentUser if action is None else Annotated[Principal, allowed(action)]
    select_of = kind.query or (lambda actor: scoped_query(kind.model, actor))
    pk = kind.model.__mapper__.primary_key[0]

    def _load(actor: Principal, db: Session, **path: Any) -> Any:
        stmt = select_of(actor).where(pk == path[kind.param])
        row = db.execute(stmt.with_for_update(of=kind.model) if lock else stmt).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no such {kind.what}")
        return row

    # FastAPI reads parameters from the signature: name the path parameter as the route's template does.
    # (inspect honours __signature__ on any function; typeshed does not declare it on callables.)
    _load.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
        inspect.Parameter("actor", inspect.Parameter.KEYWORD_ONLY, annotation=actor_type),
        inspect.Parameter("db", inspect.Parameter.KEYWORD_ONLY, annotation=DbSession),
        inspect.Parameter(kind.param, inspect.Parameter.KEYWORD_ONLY, annotation=kind.path_type)])
    _load.__qualname__ = f"in_scope[{kind.model.__name__}]"
    return Depends(_load)


VisibleDistrict = Annotated[District, in_scope(DISTRICT)]
VisibleStreet = Annotated[Street, in_scope(STREET)]
VisibleGrid = Annotated[Grid, in_scope(GRID)]
VisibleEnterprise = Annotated[Enterprise, in_scope(ENTERPRISE)]
VisibleSpace = Annotated[ConfinedSpace, in_scope(SPACE)]
VisibleGateway = Annotated[Gateway, in_scope(GATEWAY)]
VisiblePadlock = Annotated[Padlock, in_scope(PADLOCK)]
VisibleDetector = Annotated[Detector, in_scope(DETECTOR)]
VisibleWorker = Annotated[Worker, in_scope(WORKER)]
VisiblePermit = Annotated[Permit, in_scope(PERMIT)]
VisibleAlert = Annotated[Alert, in_scope(ALERT)]
#: Users are managed, never just read, by others: only their managers may name them (403 before 404).
ManagedUser = Annotated[User, in_scope(USER, action=Action.USER_MANAGE)]
