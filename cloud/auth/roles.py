"""Roles and scopes: who a user is in the supervision system and which slice of the city it sees.

A scope is the city, one district / street / grid, or one enterprise. Visibility flows downward only: a
district's users see everything in that district, a grid officer everything in its grid, an enterprise's
users only that enterprise.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    CITY_ADMIN = "city_admin"
    DISTRICT_SUPERVISOR = "district_supervisor"
    GRID_OFFICER = "grid_officer"
    LAW_ENFORCEMENT_OFFICER = "law_enforcement_officer"
    ENTERPRISE_MANAGER = "enterprise_manager"
    APPROVER = "approver"
    ATTENDANT = "attendant"  # 监护人
    WORKER = "worker"
    TECHNICIAN = "technician"


class ScopeKind(StrEnum):
    CITY = "city"
    DISTRICT = "district"
    STREET = "street"
    GRID = "grid"
    ENTERPRISE = "enterprise"


# Area scopes from widest to narrowest; an enterprise sits inside a grid.
AREA_DEPTH = {ScopeKind.CITY: 0, ScopeKind.DISTRICT: 1, ScopeKind.STREET: 2, ScopeKind.GRID: 3,
              ScopeKind.ENTERPRISE: 4}

_AREAS = frozenset({ScopeKind.DISTRICT, ScopeKind.STREET, ScopeKind.GRID})
_ANY = frozenset(ScopeKind)

# Which scopes make sense for a role (a city admin scoped to one enterprise would be a contradiction).
ROLE_SCOPES: dict[Role, frozenset[ScopeKind]] = {
    Role.CITY_ADMIN: frozenset({ScopeKind.CITY}),
    Role.DISTRICT_SUPERVISOR: frozenset({ScopeKind.DISTRICT}),
    Role.GRID_OFFICER: frozenset({ScopeKind.GRID}),
    Role.LAW_ENFORCEMENT_OFFICER: frozenset({ScopeKind.CITY}) | _AREAS,
    Role.ENTERPRISE_MANAGER: frozenset({ScopeKind.ENTERPRISE}),
    Role.APPROVER: _ANY,  # enterprise approver, or a regulator's approver for high-risk work
    Role.ATTENDANT: frozenset({ScopeKind.ENTERPRISE}),
    Role.WORKER: frozenset({ScopeKind.ENTERPRISE}),
    Role.TECHNICIAN: _ANY,
}

# Roles a user-managing role may grant (and the roles of the users it may change).
GRANTABLE: dict[Role, frozenset[Role]] = {
    Role.CITY_ADMIN: frozenset(Role),
    Role.DISTRICT_SUPERVISOR: frozenset(Role) - {Role.CITY_ADMIN, Role.DISTRICT_SUPERVISOR},
    Role.ENTERPRISE_MANAGER: frozenset({Role.APPROVER, Role.ATTENDANT, Role.WORKER}),
}


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    id: int | None = None  # None only for the city

    def __post_init__(self) -> None:
        if (self.kind is ScopeKind.CITY) != (self.id is None):
            raise ValueError("the city scope has no id; every other scope has one")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as services see it."""

    user_id: int
    username: str
    role: Role
    scope: Scope
