"""What each role may do, independent of any object (object-level checks are scope filters in the services).

A role missing from an action's set gets 403 whatever the object; reads are open to every signed-in user
and filtered by scope.
"""

from __future__ import annotations

from enum import StrEnum

from cloud.auth.roles import Role
from cloud.errors import Forbidden


class Action(StrEnum):
    DISTRICT_MANAGE = "district.manage"
    AREA_MANAGE = "area.manage"  # streets and grids
    ENTERPRISE_REGISTER = "enterprise.register"  # create, delete, bulk import
    ENTERPRISE_UPDATE = "enterprise.update"
    SPACE_MANAGE = "space.manage"
    USER_MANAGE = "user.manage"
    AUDIT_READ = "audit.read"


_REGULATORS = frozenset({Role.CITY_ADMIN, Role.DISTRICT_SUPERVISOR, Role.GRID_OFFICER})

ALLOWED: dict[Action, frozenset[Role]] = {
    Action.DISTRICT_MANAGE: frozenset({Role.CITY_ADMIN}),
    Action.AREA_MANAGE: frozenset({Role.CITY_ADMIN, Role.DISTRICT_SUPERVISOR}),
    Action.ENTERPRISE_REGISTER: _REGULATORS,
    Action.ENTERPRISE_UPDATE: _REGULATORS | {Role.ENTERPRISE_MANAGER},
    Action.SPACE_MANAGE: _REGULATORS | {Role.ENTERPRISE_MANAGER},
    Action.USER_MANAGE: frozenset({Role.CITY_ADMIN, Role.DISTRICT_SUPERVISOR, Role.ENTERPRISE_MANAGER}),
    Action.AUDIT_READ: frozenset({Role.CITY_ADMIN}),
}


def check(role: Role, action: Action) -> None:
    if role not in ALLOWED[action]:
        raise Forbidden(f"role {role.value} may not {action.value}")
