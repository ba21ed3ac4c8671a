"""Padlocks and detectors: CRUD with the space deciding the enterprise, 401/403/404/409/422, object-level
authorization across enterprises and districts."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from protocols import crypto
from tests.cloud.conftest import Logins
from tests.cloud.permits.site import Site


def padlock(site: Site, **over: object) -> dict[str, object]:
    body: dict[str, object] = {"lock_id": "00112233445566AA", "label": "PL-9", "space_id": site["SP1"],
                               "gateway_id": "gw-e1", "public_key": crypto.public_raw(site.lock_key).hex()}
    body.update(over)
    return body


def detector(site: Site, **over: object) -> dict[str, object]:
    body: dict[str, object] = {"label": "GD-9", "space_id": site["SP1"], "gateway_id": "gw-e1", "bus": "rs485-1",
                               "unit_id": 3, "profile": "generic-4gas"}
    body.update(over)
    return body


@pytest.mark.parametrize("kind", ["padlocks", "detectors"])
def test_device_lifecycle_and_access(client: TestClient, as_user: Logins, site: Site, kind: str) -> None:
    url = f"/api/v1/{kind}"
    make = padlock if kind == "padlocks" else detector
    assert client.post(url, json=make(site)).status_code == 401
    assert client.get(url).status_code == 401
    assert client.post(url, json=make(site), headers=as_user("worker1")).status_code == 403
    r = client.post(url, json=make(site), headers=as_user("tech1"))
    assert r.status_code == 201, r.text
    device = r.json()
    assert device["enterprise_id"] == site["E1"] and device["status"] == "active"
    if kind == "padlocks":
        assert device["lock_id"] == "00112233445566aa"
    assert client.post(url, json=make(site), headers=as_user("mgr1")).status_code == 409
    item = f"{url}/{device['id']}"
    for who in ("mgr2", "sup2"):
        assert client.get(item, headers=as_user(who)).status_code == 404
        assert client.patch(item, json={"label": "x"}, headers=as_user(who)).status_code == 404
        assert client.delete(item, headers=as_user(who)).status_code == 404
        assert device["id"] not in {d["id"] for d in client.get(url, headers=as_user(who)).json()["items"]}
    assert client.get(item, headers=as_user("worker1")).status_code == 200
    assert client.patch(item, json={"label": "x"}, headers=as_user("worker1")).status_code == 403
    # Another enterprise's space or gateway is refused like a missing one; a device stays in its enterprise.
    for over, field in (({"space_id": site["SP2"]}, "space_id"), ({"gateway_id": "gw-e2"}, "gateway_id"),
                        ({"gateway_id": "gw-none"}, "gateway_id")):
        r = client.post(url, json=make(site, **over), headers=as_user("mgr1"))
        assert r.status_code == 422 and r.json()["error"]["field"] == field, over
    r = client.patch(item, json={"space_id": site["SP1b"]}, headers=as_user("sup1"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "space_id"
    r = client.patch(item, json={"gateway_id": None, "status": "disabled"}, headers=as_user("mgr1"))
    assert r.status_code == 200 and r.json()["gateway_id"] is None and r.json()["status"] == "disabled"
    assert client.patch(item, json={"label": None}, headers=as_user("mgr1")).status_code == 422
    assert client.delete(item, headers=as_user("tech1")).status_code == 204
    assert client.get(item, headers=as_user("tech1")).status_code == 404


def test_device_input_is_validated(client: TestClient, as_user: Logins, site: Site) -> None:
    h = as_user("tech1")
    for over, field in (({"lock_id": "0011"}, "lock_id"), ({"lock_id": "zz112233445566aa"}, "lock_id"),
                        ({"public_key": "ab"}, "public_key"), ({"enterprise_id": site["E2"]}, "enterprise_id")):
        r = client.post("/api/v1/padlocks", json=padlock(site, **over), headers=h)
        assert r.status_code == 422 and r.json()["error"]["field"] == field, over
    for over, field in (({"unit_id": 0}, "unit_id"), ({"unit_id": 248}, "unit_id"), ({"bus": ""}, "bus"),
                        ({"profile": None}, "profile")):
        r = client.post("/api/v1/detectors", json=detector(site, **over), headers=h)
        assert r.status_code == 422 and r.json()["error"]["field"] == field, over
    assert client.post("/api/v1/detectors", json=detector(site), headers=h).status_code == 201
    r = client.post("/api/v1/detectors", json=detector(site, label="GD-10"), headers=h)
    assert r.status_code == 409 and r.json()["error"]["field"] == "unit_id"
    assert client.post("/api/v1/detectors", json=detector(site, unit_id=4), headers=h).status_code == 201
