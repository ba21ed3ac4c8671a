"""User management: grants within scope, mass assignment refused, object-level authorization of users."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fwsim.stage.world import PASSWORD, World
from tests.cloud.conftest import Logins

USERS = "/api/v1/users"
NEW_PASSWORD = "another-password-456"


def _new(username: str, role: str, kind: str, scope_id: int | None) -> dict[str, object]:
    return {"username": username, "display_name": username, "password": NEW_PASSWORD, "role": role,
            "scope": {"kind": kind, "id": scope_id}}


def test_self_update_refuses_role_and_scope(client: TestClient, as_user: Logins, world: World) -> None:
    for body, field in (({"role": "city_admin"}, "role"), ({"scope": {"kind": "city"}}, "scope"),
                        ({"display_name": "x", "active": False}, "active"), ({"id": 1}, "id")):
        r = client.patch(f"{USERS}/me", json=body, headers=as_user("worker1"))
        assert r.status_code == 422, body
        assert r.json()["error"]["field"] == field
    me = client.get(f"{USERS}/me", headers=as_user("worker1")).json()
    assert me["role"] == "worker" and me["scope"] == {"kind": "enterprise", "id": world["E1"]}


def test_self_update_of_name_and_password(client: TestClient, as_user: Logins) -> None:
    headers = as_user("worker1")
    r = client.patch(f"{USERS}/me", json={"display_name": "张三"}, headers=headers)
    assert r.status_code == 200 and r.json()["display_name"] == "张三"
    r = client.patch(f"{USERS}/me", json={"new_password": NEW_PASSWORD}, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["field"] == "current_password"
    r = client.patch(f"{USERS}/me", json={"new_password": "short", "current_password": PASSWORD}, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["field"] == "new_password"
    r = client.patch(f"{USERS}/me", json={"new_password": NEW_PASSWORD, "current_password": PASSWORD},
                     headers=headers)
    assert r.status_code == 200
    assert client.get(f"{USERS}/me", headers=headers).status_code == 200  # this session stays
    login = client.post("/api/v1/auth/login", json={"username": "worker1", "password": NEW_PASSWORD})
    assert login.status_code == 200


def test_manager_cannot_raise_own_role_or_scope(client: TestClient, as_user: Logins, world: World) -> None:
    r = client.patch(f"{USERS}/{world['sup1']}", json={"role": "city_admin"}, headers=as_user("sup1"))
    assert r.status_code == 403
    r = client.patch(f"{USERS}/{world['admin']}", json={"scope": {"kind": "district", "id": world["D1"]}},
                     headers=as_user("admin"))
    assert r.status_code == 403 and r.json()["error"]["field"] == "scope"
    r = client.patch(f"{USERS}/{world['mgr1']}", json={"role": "city_admin"}, headers=as_user("mgr1"))
    assert r.status_code == 403


def test_supervisor_creates_users_only_in_its_district(client: TestClient, as_user: Logins, world: World) -> None:
    h = as_user("sup1")
    r = client.post(USERS, json=_new("officer9", "grid_officer", "grid", world["G1b"]), headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["scope"] == {"kind": "grid", "id": world["G1b"]}
    r = client.post(USERS, json=_new("officer8", "grid_officer", "grid", world["G2"]), headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "scope.id"
    r = client.post(USERS, json=_new("boss", "city_admin", "city", None), headers=h)
    assert r.status_code == 403 and r.json()["error"]["field"] == "role"
    r = client.post(USERS, json=_new("sup9", "district_supervisor", "district", world["D1"]), headers=h)
    assert r.status_code == 403
    r = client.post(USERS, json=_new("officer7", "grid_officer", "district", world["D1"]), headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "scope.kind"


def test_enterprise_manager_creates_its_workers(client: TestClient, as_user: Logins, world: World) -> None:
    h = as_user("mgr1")
    assert client.post(USERS, json=_new("worker9", "worker", "enterprise", world["E1"]), headers=h).status_code == 201
    r = client.post(USERS, json=_new("worker8", "worker", "enterprise", world["E2"]), headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "scope.id"
    r = client.post(USERS, json=_new("mgr9", "enterprise_manager", "enterprise", world["E1"]), headers=h)
    assert r.status_code == 403
    r = client.post(USERS, json=_new("worker1", "worker", "enterprise", world["E1"]), headers=h)
    assert r.status_code == 409 and r.json()["error"]["field"] == "username"
    r = client.post(USERS, json={**_new("worker7", "worker", "enterprise", world["E1"]), "password": "short"},
                    headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "password"


def test_roles_without_user_management_get_403(client: TestClient, as_user: Logins, world: World) -> None:
    for name in ("worker1", "officer1", "law1"):
        assert client.get(USERS, headers=as_user(name)).status_code == 403
        r = client.post(USERS, json=_new("x-user", "worker", "enterprise", world["E1"]), headers=as_user(name))
        assert r.status_code == 403
        assert client.get(f"{USERS}/{world['worker1']}", headers=as_user(name)).status_code == 403
    assert client.get(USERS).status_code == 401


def test_users_outside_the_scope_are_404(client: TestClient, as_user: Logins, world: World) -> None:
    listed = {u["username"] for u in client.get(USERS, headers=as_user("sup1")).json()["items"]}
    assert listed == {"sup1", "law1", "officer1", "mgr1", "worker1"}
    listed = {u["username"] for u in client.get(USERS, headers=as_user("mgr1")).json()["items"]}
    assert listed == {"mgr1", "worker1"}
    for actor, target in (("sup1", "sup2"), ("sup1", "mgr2"), ("sup1", "admin"), ("mgr1", "mgr2"),
                          ("mgr2", "worker1"), ("sup2", "officer1")):
        r = client.get(f"{USERS}/{world[target]}", headers=as_user(actor))
        assert r.status_code == 404, (actor, target)
        r = client.patch(f"{USERS}/{world[target]}", json={"display_name": "x"}, headers=as_user(actor))
        assert r.status_code == 404, (actor, target)
    assert client.get(f"{USERS}/999999", headers=as_user("admin")).status_code == 404


def test_disabling_a_user_ends_its_sessions(client: TestClient, as_user: Logins, world: World) -> None:
    worker = as_user("worker1")
    r = client.patch(f"{USERS}/{world['worker1']}", json={"active": False}, headers=as_user("mgr1"))
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.get(f"{USERS}/me", headers=worker).status_code == 401


def test_binding_a_grid_officer_to_a_grid(client: TestClient, as_user: Logins, world: World) -> None:
    h = as_user("sup1")
    r = client.patch(f"{USERS}/{world['officer1']}", json={"scope": {"kind": "grid", "id": world["G1b"]}}, headers=h)
    assert r.status_code == 200
    officers = client.get(f"/api/v1/grids/{world['G1b']}/officers", headers=h).json()
    assert [o["username"] for o in officers] == ["officer1"]
    assert client.get(f"/api/v1/grids/{world['G1']}/officers", headers=h).json() == []
    assert client.get(f"/api/v1/grids/{world['G1b']}/officers", headers=as_user("sup2")).status_code == 404


def test_null_is_refused_for_required_members(client: TestClient, as_user: Logins, world: World) -> None:
    r = client.patch(f"{USERS}/{world['worker1']}", json={"display_name": None}, headers=as_user("mgr1"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "display_name"
