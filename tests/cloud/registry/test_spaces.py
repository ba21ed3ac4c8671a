"""Confined spaces: CRUD with the rescue card, 401/403/404/422, cross-enterprise and cross-district access."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fwsim.stage.world import World, space_body
from tests.cloud.conftest import Logins

URL = "/api/v1/confined-spaces"


def test_manager_registers_and_maintains_a_space(client: TestClient, as_user: Logins, world: World) -> None:
    h = as_user("mgr1")
    r = client.post(URL, json=space_body(world["E1"], "CS-9", siren_id="SR-1"), headers=h)
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["rescue_card"]["rescue_equipment"] == ["三脚架"]
    assert s["rescue_card"]["hazards"] == ["toxic_gas", "oxygen_deficiency"]
    assert s["padlock_ids"] == ["PL-CS-9"] and s["siren_id"] == "SR-1"
    r = client.patch(f"{URL}/{s['id']}", json={"siren_id": None, "detector_ids": ["GD-1", "GD-2"]}, headers=h)
    assert r.status_code == 200 and r.json()["siren_id"] is None and r.json()["detector_ids"] == ["GD-1", "GD-2"]
    r = client.patch(f"{URL}/{s['id']}", json={"code": "SP1"}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["field"] == "code"
    assert client.delete(f"{URL}/{s['id']}", headers=h).status_code == 204
    assert client.get(f"{URL}/{s['id']}", headers=h).status_code == 404


def test_space_input_is_validated(client: TestClient, as_user: Logins, world: World) -> None:
    h = as_user("mgr1")
    for over, field in (({"space_type": "cave"}, "space_type"), ({"hazards": []}, "hazards"),
                        ({"hazards": ["ghosts"]}, "hazards.0"), ({"gas_profile": None}, "gas_profile"),
                        ({"emergency_contacts": [{"name": "x", "phone": "call me"}]}, "emergency_contacts.0.phone"),
                        ({"padlock_ids": ["x"] * 17}, "padlock_ids"), ({"owner": "me"}, "owner")):
        r = client.post(URL, json=space_body(world["E1"], "CS-8", **over), headers=h)
        assert r.status_code == 422, over
        assert r.json()["error"]["field"] == field, over
    r = client.patch(f"{URL}/{world['SP1']}", json={"hazards": None}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "hazards"


def test_roles(client: TestClient, as_user: Logins, world: World) -> None:
    assert client.get(URL).status_code == 401
    assert client.get(f"{URL}/{world['SP1']}").status_code == 401
    for name in ("worker1", "law1"):
        h = as_user(name)
        assert client.post(URL, json=space_body(world["E1"], "CS-7"), headers=h).status_code == 403
        assert client.patch(f"{URL}/{world['SP1']}", json={"name": "x"}, headers=h).status_code == 403
        assert client.delete(f"{URL}/{world['SP1']}", headers=h).status_code == 403
        assert client.get(f"{URL}/{world['SP1']}", headers=h).status_code == 200


def test_lists_are_scoped(client: TestClient, as_user: Logins, world: World) -> None:
    def ids(name: str, query: str = "") -> set[int]:
        return {s["id"] for s in client.get(f"{URL}{query}", headers=as_user(name)).json()["items"]}

    assert ids("admin") == {world["SP1"], world["SP1b"], world["SP2"]}
    assert ids("sup1") == {world["SP1"], world["SP1b"]}
    assert ids("officer1") == ids("mgr1") == ids("worker1") == {world["SP1"]}
    assert ids("mgr1", f"?enterprise_id={world['E2']}") == set()
    assert ids("admin", f"?enterprise_id={world['E2']}") == {world["SP2"]}


def test_cross_enterprise_and_cross_district_access_is_404(client: TestClient, as_user: Logins,
                                                           world: World) -> None:
    for actor, target in (("mgr1", "SP2"), ("mgr1", "SP1b"), ("mgr2", "SP1"), ("sup1", "SP2"), ("sup2", "SP1"),
                          ("officer1", "SP1b"), ("worker1", "SP2")):
        url = f"{URL}/{world[target]}"
        assert client.get(url, headers=as_user(actor)).status_code == 404, (actor, target)
        if actor != "worker1":
            assert client.patch(url, json={"name": "x"}, headers=as_user(actor)).status_code == 404, (actor, target)
            assert client.delete(url, headers=as_user(actor)).status_code == 404, (actor, target)
    # Creating a space in another enterprise answers like a missing enterprise.
    for actor, enterprise in (("mgr1", "E2"), ("sup1", "E2"), ("officer1", "E1b")):
        r = client.post(URL, json=space_body(world[enterprise], "CS-6"), headers=as_user(actor))
        assert r.status_code == 422 and r.json()["error"]["field"] == "enterprise_id", actor
    assert client.get(f"{URL}/{world['SP2']}", headers=as_user("mgr2")).json()["name"] == "污水池 SP2"
