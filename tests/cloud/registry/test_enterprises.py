"""Enterprises: CRUD, 401/403/404/422, the GB 32100 check, cross-enterprise and cross-district access."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fwsim.stage.world import World, enterprise_body, uscc
from tests.cloud.conftest import Logins

URL = "/api/v1/enterprises"


def test_register_read_update_delete(client: TestClient, as_user: Logins, world: World) -> None:
    h = as_user("officer1")
    r = client.post(URL, json=enterprise_body(world["G1"], 50, dangerous_processes=["氯化工艺"],
                                             hazardous_chemicals=True), headers=h)
    assert r.status_code == 201, r.text
    e = r.json()
    assert (e["district_id"], e["street_id"], e["grid_id"]) == (world["D1"], world["S1"], world["G1"])
    assert e["uscc"] == uscc(50) and e["dangerous_processes"] == ["氯化工艺"]
    r = client.patch(f"{URL}/{e['id']}", json={"grid_id": world["G1b"], "scale": "medium"}, headers=as_user("sup1"))
    assert r.status_code == 200 and r.json()["grid_id"] == world["G1b"] and r.json()["scale"] == "medium"
    assert client.get(f"{URL}/{e['id']}", headers=h).status_code == 404  # moved out of the officer's grid
    assert client.delete(f"{URL}/{e['id']}", headers=as_user("sup1")).status_code == 204
    assert client.get(f"{URL}/{e['id']}", headers=as_user("admin")).status_code == 404


def test_lowercase_code_is_normalised(client: TestClient, as_user: Logins, world: World) -> None:
    code = uscc(51)
    r = client.post(URL, json=enterprise_body(world["G1"], 51, uscc=code.lower()), headers=as_user("admin"))
    assert r.status_code == 201 and r.json()["uscc"] == code


def test_bad_codes_are_422_naming_uscc(client: TestClient, as_user: Logins, world: World) -> None:
    good = uscc(52)
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    for code in (wrong_check, good[:17], "91440300192203821I", "X14403001922038216", "9144030019220382" + "X6"):
        r = client.post(URL, json=enterprise_body(world["G1"], 52, uscc=code), headers=as_user("admin"))
        assert r.status_code == 422, code
        assert r.json()["error"]["field"] == "uscc"


def test_duplicate_code_is_409(client: TestClient, as_user: Logins, world: World) -> None:
    r = client.post(URL, json=enterprise_body(world["G1"], 1), headers=as_user("admin"))
    assert r.status_code == 409 and r.json()["error"]["field"] == "uscc"


def test_enterprise_input_is_validated(client: TestClient, as_user: Logins, world: World) -> None:
    h = as_user("admin")
    for over, field in (({"scale": "huge"}, "scale"), ({"name": ""}, "name"), ({"grid_id": 0}, "grid_id"),
                        ({"district_id": world["D2"]}, "district_id"), ({"dangerous_processes": "x"},
                                                                          "dangerous_processes")):
        r = client.post(URL, json=enterprise_body(world["G1"], 53, **over), headers=h)
        assert r.status_code == 422, over
        assert r.json()["error"]["field"] == field
    r = client.post(URL, json=enterprise_body(999999, 53), headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "grid_id"
    r = client.patch(f"{URL}/{world['E1']}", json={"name": None}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "name"


def test_roles(client: TestClient, as_user: Logins, world: World) -> None:
    assert client.get(URL).status_code == 401
    assert client.post(URL, json=enterprise_body(world["G1"], 54)).status_code == 401
    for name in ("mgr1", "worker1", "law1"):
        assert client.post(URL, json=enterprise_body(world["G1"], 54), headers=as_user(name)).status_code == 403
        assert client.delete(f"{URL}/{world['E1']}", headers=as_user(name)).status_code == 403
    assert client.patch(f"{URL}/{world['E1']}", json={"name": "x"}, headers=as_user("worker1")).status_code == 403


def test_manager_updates_its_enterprise_but_not_code_or_grid(client: TestClient, as_user: Logins,
                                                             world: World) -> None:
    h = as_user("mgr1")
    r = client.patch(f"{URL}/{world['E1']}", json={"address": "新地址 1 号", "hazardous_chemicals": True}, headers=h)
    assert r.status_code == 200 and r.json()["address"] == "新地址 1 号"
    for body, field in (({"grid_id": world["G1b"]}, "grid_id"), ({"uscc": uscc(55)}, "uscc")):
        r = client.patch(f"{URL}/{world['E1']}", json=body, headers=h)
        assert r.status_code == 403 and r.json()["error"]["field"] == field
    r = client.patch(f"{URL}/{world['E1']}", json={"district_id": world["D2"]}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "district_id"


def test_lists_are_scoped(client: TestClient, as_user: Logins, world: World) -> None:
    def ids(name: str) -> set[int]:
        return {e["id"] for e in client.get(URL, headers=as_user(name)).json()["items"]}

    assert ids("admin") == {world["E1"], world["E1b"], world["E2"]}
    assert ids("sup1") == ids("law1") == {world["E1"], world["E1b"]}
    assert ids("officer1") == {world["E1"]}
    assert ids("mgr1") == ids("worker1") == {world["E1"]}
    assert ids("mgr2") == {world["E2"]}


def test_cross_enterprise_and_cross_district_access_is_404(client: TestClient, as_user: Logins,
                                                           world: World) -> None:
    cases = [("mgr1", "E2"), ("mgr1", "E1b"), ("mgr2", "E1"), ("worker1", "E1b"), ("sup1", "E2"), ("sup2", "E1"),
             ("officer1", "E1b"), ("law1", "E2")]
    for actor, target in cases:
        url = f"{URL}/{world[target]}"
        assert client.get(url, headers=as_user(actor)).status_code == 404, (actor, target)
        r = client.patch(url, json={"name": "x"}, headers=as_user(actor))
        assert r.status_code in (403, 404), (actor, target)  # 403 only for roles that may never update
        if r.status_code == 403:
            assert actor in ("worker1", "law1")
    for actor, target in (("sup1", "E2"), ("officer1", "E1b")):
        assert client.delete(f"{URL}/{world[target]}", headers=as_user(actor)).status_code == 404
    # Registering into a grid outside the scope answers like a missing grid.
    r = client.post(URL, json=enterprise_body(world["G2"], 56), headers=as_user("sup1"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "grid_id"
    r = client.patch(f"{URL}/{world['E1']}", json={"grid_id": world["G2"]}, headers=as_user("sup1"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "grid_id"
    # Nothing changed.
    assert client.get(f"{URL}/{world['E2']}", headers=as_user("admin")).json()["name"] == "企业3"
