"""What each role may do, independent of any object (object-level checks are the scope layer, `cloud.scope`).

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
    ALERT_HANDLE = "alert.handle"  # acknowledge and resolve alerts
    DEVICE_MANAGE = "device.manage"  # gateways (and their enrolment), padlocks, detectors
    WORKER_MANAGE = "worker.manage"
    PERMIT_APPLY = "permit.apply"
    PERMIT_APPROVE = "permit.approve"
    PERMIT_CONFIRM = "permit.confirm"  # the pre-entry safety confirmation at the hatch
    PERMIT_REVOKE = "permit.revoke"
    HAZARD_REPORT = "hazard.report"
    HAZARD_HANDLE = "hazard.handle"  # lifecycle steps; which step by whom is cloud.hazards.lifecycle's
    HAZARD_SETTINGS = "hazard.settings"  # a grid's patrol/handling mode
    HAZARD_PHOTO = "hazard.photo"  # upload photos (of a finding, or of rectification evidence)
    PATROL_RECORD = "patrol.record"  # sync patrol records from the field
    SCHEDULE_MANAGE = "schedule.manage"  # plan patrol tasks, set an enterprise's supervision frequency


_REGULATORS = frozenset({Role.CITY_ADMIN, Role.DISTRICT_SUPERVISOR, Role.GRID_OFFICER})

ALLOWED: dict[Action, frozenset[Role]] = {
    Action.DISTRICT_MANAGE: frozenset({Role.CITY_ADMIN}),
    Action.AREA_MANAGE: frozenset({Role.CITY_ADMIN, Role.DISTRICT_SUPERVISOR}),
    Action.ENTERPRISE_REGISTER: _REGULATORS,
    Action.ENTERPRISE_UPDATE: _REGULATORS | {Role.ENTERPRISE_MANAGER},
    Action.SPACE_MANAGE: _REGULATORS | {Role.ENTERPRISE_MANAGER},
    Action.USER_MANAGE: frozenset({Role.CITY_ADMIN, Role.DISTRICT_SUPERVISOR, Role.ENTERPRISE_MANAGER}),
    Action.AUDIT_READ: frozenset({Role.CITY_ADMIN}),
    Action.ALERT_HANDLE: _REGULATORS | {Role.ENTERPRISE_MANAGER, Role.ATTENDANT},
    Action.DEVICE_MANAGE: frozenset({Role.CITY_ADMIN, Role.DISTRICT_SUPERVISOR, Role.ENTERPRISE_MANAGER,
                                     Role.TECHNICIAN}),
    Action.WORKER_MANAGE: frozenset({Role.CITY_ADMIN, Role.DISTRICT_SUPERVISOR, Role.ENTERPRISE_MANAGER}),
    Action.PERMIT_APPLY: frozenset({Role.ENTERPRISE_MANAGER}),
    # Enterprise-scoped approvers approve for their enterprise; area-scoped ones are the regulator's step.
    Action.PERMIT_APPROVE: frozenset({Role.APPROVER}),
    Action.PERMIT_CONFIRM: frozenset({Role.ATTENDANT, Role.ENTERPRISE_MANAGER}),
    Action.PERMIT_REVOKE: _REGULATORS | {Role.ENTERPRISE_MANAGER, Role.APPROVER},
    Action.HAZARD_REPORT: _REGULATORS | {Role.LAW_ENFORCEMENT_OFFICER},
    Action.HAZARD_HANDLE: _REGULATORS | {Role.ENTERPRISE_MANAGER},
    Action.HAZARD_SETTINGS: frozenset({Role.CITY_ADMIN, Role.DISTRICT_SUPERVISOR}),
    Action.HAZARD_PHOTO: _REGULATORS | {Role.LAW_ENFORCEMENT_OFFICER, Role.ENTERPRISE_MANAGER},
    Action.PATROL_RECORD: _REGULATORS,
    Action.SCHEDULE_MANAGE: frozenset({Role.CITY_ADMIN, Role.DISTRICT_SUPERVISOR}),
}


def check(role: Role, action: Action) -> None:
    if role not in ALLOWED[action]:
        raise Forbidden(f"role {role.value} may not {action.value}")
