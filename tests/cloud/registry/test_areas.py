"""Districts, streets and grids: CRUD, 401/403/404/422, and what each scope sees."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fwsim.stage.world import World
from tests.cloud.conftest import Logins

API = "/api/v1"


def _codes(client: TestClient, path: str, headers: dict[str, str]) -> set[str]:
    r = client.get(f"{API}/{path}", headers=headers)
    assert r.status_code == 200, r.text
    return {row["code"] for row in r.json()["items"]}


def test_area_lifecycle(client: TestClient, as_user: Logins) -> None:
    h = as_user("admin")
    d = client.post(f"{API}/districts", json={"code": "440399", "name": "新区"}, headers=h)
    assert d.status_code == 201
    s = client.post(f"{API}/streets", json={"district_id": d.json()["id"], "code": "S9", "name": "九街道"}, headers=h)
    assert s.status_code == 201 and s.json()["district_id"] == d.json()["id"]
    g = client.post(f"{API}/grids", json={"street_id": s.json()["id"], "code": "G9", "name": "九网格"}, headers=h)
    assert g.status_code == 201
    assert g.json()["district_id"] == d.json()["id"] and g.json()["street_id"] == s.json()["id"]
    r = client.patch(f"{API}/grids/{g.json()['id']}", json={"name": "第九网格"}, headers=h)
    assert r.status_code == 200 and r.json()["name"] == "第九网格"
    # A district that still holds a street cannot go.
    assert client.delete(f"{API}/districts/{d.json()['id']}", headers=h).status_code == 409
    for path, obj in (("grids", g), ("streets", s), ("districts", d)):
        assert client.delete(f"{API}/{path}/{obj.json()['id']}", headers=h).status_code == 204
        assert client.get(f"{API}/{path}/{obj.json()['id']}", headers=h).status_code == 404


def test_duplicate_codes_are_409_naming_the_field(client: TestClient, as_user: Logins, world: World) -> None:
    h = as_user("admin")
    r = client.post(f"{API}/districts", json={"code": "440311", "name": "重复"}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["field"] == "code"
    r = client.patch(f"{API}/grids/{world['G1']}", json={"code": "G2"}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["field"] == "code"


def test_areas_need_a_token(client: TestClient, world: World) -> None:
    for method, path in (("get", "districts"), ("post", "districts"), ("get", f"streets/{world['S1']}"),
                         ("patch", f"grids/{world['G1']}"), ("delete", f"districts/{world['D1']}")):
        assert getattr(client, method)(f"{API}/{path}").status_code == 401, (method, path)


def test_area_writes_by_role(client: TestClient, as_user: Logins, world: World) -> None:
    # Districts are the city's; supervisors manage streets and grids of their own district.
    r = client.post(f"{API}/districts", json={"code": "440398", "name": "x"}, headers=as_user("sup1"))
    assert r.status_code == 403
    r = client.post(f"{API}/streets", json={"district_id": world["D1"], "code": "S8", "name": "x"},
                    headers=as_user("sup1"))
    assert r.status_code == 201
    for name in ("officer1", "mgr1", "worker1", "law1"):
        r = client.post(f"{API}/grids", json={"street_id": world["S1"], "code": "G8", "name": "x"},
                        headers=as_user(name))
        assert r.status_code == 403, name
        assert client.delete(f"{API}/grids/{world['G1']}", headers=as_user(name)).status_code == 403


def test_area_input_is_validated(client: TestClient, as_user: Logins, world: World) -> None:
    h = as_user("admin")
    for body, field in (({"code": "440398"}, "name"), ({"code": "bad code!", "name": "x"}, "code"),
                        ({"code": "440398", "name": ""}, "name"), ({"code": "1", "name": "x", "id": 5}, "id")):
        r = client.post(f"{API}/districts", json=body, headers=h)
        assert r.status_code == 422, body
        assert r.json()["error"]["field"] == field
    r = client.post(f"{API}/grids", json={"street_id": 999999, "code": "G8", "name": "x"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "street_id"
    r = client.get(f"{API}/districts/not-a-number", headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "path.district_id"
    r = client.get(f"{API}/grids?limit=0", headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "query.limit"


def test_each_scope_sees_its_own_areas(client: TestClient, as_user: Logins, world: World) -> None:
    assert _codes(client, "districts", as_user("admin")) == {"440311", "440312"}
    assert _codes(client, "districts", as_user("sup1")) == {"440311"}
    assert _codes(client, "streets", as_user("sup1")) == {"S1"}
    assert _codes(client, "grids", as_user("sup1")) == {"G1", "G1b"}
    assert _codes(client, "grids", as_user("officer1")) == {"G1"}
    assert _codes(client, "districts", as_user("officer1")) == set()
    assert _codes(client, "grids", as_user("mgr1")) == set()
    assert _codes(client, f"grids?street_id={world['S1']}", as_user("admin")) == {"G1", "G1b"}


def test_cross_district_and_cross_grid_areas_are_404(client: TestClient, as_user: Logins, world: World) -> None:
    cases = [("sup1", "districts", "D2"), ("sup1", "streets", "S2"), ("sup1", "grids", "G2"),
             ("sup2", "grids", "G1"), ("officer1", "grids", "G1b"), ("officer1", "districts", "D1"),
             ("mgr1", "grids", "G1"), ("law1", "streets", "S2")]
    for actor, path, target in cases:
        url = f"{API}/{path}/{world[target]}"
        assert client.get(url, headers=as_user(actor)).status_code == 404, (actor, target)
    # Writers see 404, not 403, for areas outside their district.
    h = as_user("sup1")
    assert client.patch(f"{API}/grids/{world['G2']}", json={"name": "x"}, headers=h).status_code == 404
    assert client.delete(f"{API}/streets/{world['S2']}", headers=h).status_code == 404
    r = client.post(f"{API}/grids", json={"street_id": world["S2"], "code": "G7", "name": "x"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "street_id"  # same answer as a missing street
    assert client.get(f"{API}/grids/{world['G2']}", headers=as_user("sup2")).status_code == 200
