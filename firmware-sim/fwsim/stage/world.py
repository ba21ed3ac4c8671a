"""A small seeded city for the cloud tests, the end-to-end flow and the demo: two districts, three grids, three
enterprises with a confined space each, and users of each kind placed to test cross-district, cross-grid and
cross-enterprise access.

    D1 ─ S1 ─ G1  ─ E1  (space SP1)     users: sup1 (D1), law1 (D1), officer1 (G1), mgr1, worker1 (E1)
             └ G1b ─ E1b (space SP1b)
    D2 ─ S2 ─ G2  ─ E2  (space SP2)     users: sup2 (D2), mgr2 (E2)
    admin: city
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cloud.auth.deps import principal_of
from cloud.auth.passwords import Passwords
from cloud.auth.roles import Principal, Role, ScopeKind
from cloud.auth.schemas import UserCreate
from cloud.auth.users_service import create_user
from cloud.db.engine import Database
from cloud.registry import areas_service, enterprises_service, spaces_service
from cloud.registry.schemas import DistrictCreate, EnterpriseCreate, GridCreate, SpaceCreate, StreetCreate
from cloud.registry.uscc import make_uscc
from cloud.settings import CloudSettings

PASSWORD = "seeded-password-0123"


def uscc(n: int) -> str:
    """A valid code for test enterprise ``n`` (Shenzhen division code, computed check characters)."""
    return make_uscc("9", "1", "440300", f"MA5{n:05d}")


def enterprise_body(grid: int, n: int, **over: object) -> dict[str, object]:
    body: dict[str, object] = {"uscc": uscc(n), "name": f"企业{n}", "industry": "C33 金属制品业",
                               "address": f"某路 {n} 号", "grid_id": grid, "scale": "small",
                               "hazardous_chemicals": False, "dangerous_processes": []}
    body.update(over)
    return body


def space_body(enterprise_id: int, code: str, **over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "enterprise_id": enterprise_id, "code": code, "name": f"污水池 {code}", "space_type": "underground",
        "location": "厂区东侧", "hazards": ["toxic_gas", "oxygen_deficiency"], "padlock_ids": [f"PL-{code}"],
        "detector_ids": [f"GD-{code}"], "gas_profile": "generic-4gas", "siren_id": None,
        "isolation_points": ["进水阀"], "rescue_equipment": ["三脚架"],
        "emergency_contacts": [{"name": "王工", "phone": "0755-12345678", "role": "安全员"}],
        "rescue_notes": ""}
    body.update(over)
    return body


@dataclass
class World:
    ids: dict[str, int] = field(default_factory=dict)  # D1, S1, G1, G1b, E1, E1b, SP1, ... and usernames
    admin: Principal | None = None

    def __getitem__(self, name: str) -> int:
        return self.ids[name]


def seed_world(database: Database, settings: CloudSettings, *, now: datetime) -> World:
    w = World()
    passwords = Passwords(settings.auth)
    with database.session(write=True) as db:

        def user(name: str, role: Role, kind: ScopeKind, scope_id: int | None) -> None:
            data = UserCreate(username=name, display_name=name, password=PASSWORD, role=role,
                              scope={"kind": kind, "id": scope_id})
            w.ids[name] = create_user(db, actor=None, data=data, passwords=passwords, now=now).id

        user("admin", Role.CITY_ADMIN, ScopeKind.CITY, None)
        from cloud.auth.models import User

        admin = principal_of(db.get(User, w["admin"]))  # type: ignore[arg-type]
        w.admin = admin
        for d in ("1", "2"):
            w.ids[f"D{d}"] = areas_service.create_district(
                db, actor=admin, data=DistrictCreate(code=f"44031{d}", name=f"区{d}"), now=now).id
            w.ids[f"S{d}"] = areas_service.create_street(
                db, actor=admin, data=StreetCreate(district_id=w[f"D{d}"], code=f"S{d}", name=f"街道{d}"), now=now).id
        for g, s in (("G1", "S1"), ("G1b", "S1"), ("G2", "S2")):
            w.ids[g] = areas_service.create_grid(
                db, actor=admin, data=GridCreate(street_id=w[s], code=g, name=f"网格{g}"), now=now).id
        for n, (e, g) in enumerate((("E1", "G1"), ("E1b", "G1b"), ("E2", "G2")), start=1):
            w.ids[e] = enterprises_service.create_enterprise(
                db, actor=admin, data=EnterpriseCreate.model_validate(enterprise_body(w[g], n)), now=now).id
            sp = "SP" + e[1:]
            w.ids[sp] = spaces_service.create_space(
                db, actor=admin, data=SpaceCreate.model_validate(space_body(w[e], sp)), now=now).id
        user("sup1", Role.DISTRICT_SUPERVISOR, ScopeKind.DISTRICT, w["D1"])
        user("sup2", Role.DISTRICT_SUPERVISOR, ScopeKind.DISTRICT, w["D2"])
        user("law1", Role.LAW_ENFORCEMENT_OFFICER, ScopeKind.DISTRICT, w["D1"])
        user("officer1", Role.GRID_OFFICER, ScopeKind.GRID, w["G1"])
        user("mgr1", Role.ENTERPRISE_MANAGER, ScopeKind.ENTERPRISE, w["E1"])
        user("mgr2", Role.ENTERPRISE_MANAGER, ScopeKind.ENTERPRISE, w["E2"])
        user("worker1", Role.WORKER, ScopeKind.ENTERPRISE, w["E1"])
        db.commit()
    return w
