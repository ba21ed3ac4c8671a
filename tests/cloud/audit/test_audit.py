"""The audit log: every write recorded with who, what, when, before and after; read by city admins only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fwsim.stage.world import World, enterprise_body, space_body
from tests.cloud.conftest import Clock, Logins

AUDIT = "/api/v1/audit"


def _entries(client: TestClient, as_user: Logins, **query: object) -> list[dict[str, object]]:
    r = client.get(AUDIT, params=query, headers=as_user("admin"))
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_writes_are_audited_with_before_and_after(client: TestClient, as_user: Logins, world: World,
                                                  clock: Clock) -> None:
    h = as_user("mgr1")
    clock.advance(60)
    r = client.patch(f"/api/v1/enterprises/{world['E1']}", json={"address": "新址"}, headers=h)
    assert r.status_code == 200
    [entry] = _entries(client, as_user, action="enterprise.update", entity_id=world["E1"])
    assert entry["actor_name"] == "mgr1" and entry["actor_id"] == world["mgr1"]
    assert entry["before"]["address"] == "某路 1 号" and entry["after"]["address"] == "新址"  # type: ignore[index]
    assert entry["at"] == clock.now.isoformat().replace("+00:00", "Z")
    space = client.post("/api/v1/confined-spaces", json=space_body(world["E1"], "CS-A"), headers=h).json()
    client.delete(f"/api/v1/confined-spaces/{space['id']}", headers=h)
    actions = [e["action"] for e in _entries(client, as_user, entity="confined_space", entity_id=space["id"])]
    assert actions == ["confined_space.delete", "confined_space.create"]
    [deleted] = _entries(client, as_user, action="confined_space.delete")
    assert deleted["before"]["code"] == "CS-A" and deleted["after"] is None  # type: ignore[index]


def test_user_snapshots_never_hold_the_password_hash(client: TestClient, as_user: Logins, world: World) -> None:
    r = client.patch(f"/api/v1/users/{world['worker1']}", json={"password": "reset-password-789"},
                     headers=as_user("mgr1"))
    assert r.status_code == 200
    for entry in _entries(client, as_user, entity="user"):
        for side in ("before", "after"):
            assert "password_hash" not in (entry[side] or {})  # type: ignore[operator]


def test_logins_are_audited(client: TestClient, as_user: Logins, world: World) -> None:
    as_user("law1")
    [entry] = _entries(client, as_user, action="auth.login", actor_id=world["law1"])
    assert entry["after"] == {"client": "testclient"}


def test_failed_writes_leave_no_audit_entry(client: TestClient, as_user: Logins, world: World) -> None:
    r = client.post("/api/v1/enterprises", json=enterprise_body(world["G1"], 1), headers=as_user("admin"))
    assert r.status_code == 409
    assert _entries(client, as_user, action="enterprise.create", entity_id=world["E1"])[0]["actor_name"] == "admin"
    assert len(_entries(client, as_user, action="enterprise.create")) == 3  # the seeded ones only


def test_audit_is_for_city_admins(client: TestClient, as_user: Logins, world: World) -> None:
    assert client.get(AUDIT).status_code == 401
    for name in ("sup1", "mgr1", "officer1"):
        assert client.get(AUDIT, headers=as_user(name)).status_code == 403
    r = client.get(AUDIT, params={"limit": 1000}, headers=as_user("admin"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "query.limit"
