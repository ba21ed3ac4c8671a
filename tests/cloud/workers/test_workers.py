"""Workers: registration with phone keys and qualifications, the worker's own record and key, 401/403/404/422
and object-level authorization."""

from __future__ import annotations

from fastapi.testclient import TestClient

from protocols import crypto
from tests.cloud.conftest import Logins
from tests.cloud.permits.site import Site

URL = "/api/v1/workers"


def worker(site: Site, **over: object) -> dict[str, object]:
    body: dict[str, object] = {"enterprise_id": site["E1"], "name": "赵六",
                               "phone_key": crypto.public_raw(crypto.generate_private_key()).hex(),
                               "training_valid_until": "2027-06-30",
                               "certificates": [{"kind": "confined_space_operation", "number": "T-1",
                                                 "valid_until": "2027-06-30"}]}
    body.update(over)
    return body


def test_worker_registry(client: TestClient, as_user: Logins, site: Site) -> None:
    assert client.post(URL, json=worker(site)).status_code == 401
    for who in ("worker1", "tech1", "appr1", "att1"):
        assert client.post(URL, json=worker(site), headers=as_user(who)).status_code == 403, who
    r = client.post(URL, json=worker(site), headers=as_user("mgr1"))
    assert r.status_code == 201, r.text
    w = r.json()
    assert len(w["uid"]) == 32 and w["certificates"][0]["valid_until"] == "2027-06-30"
    item = f"{URL}/{w['id']}"
    r = client.patch(item, json={"training_valid_until": None, "active": False}, headers=as_user("sup1"))
    assert r.status_code == 200 and r.json()["training_valid_until"] is None and not r.json()["active"]
    for who in ("mgr2", "sup2"):
        assert client.get(item, headers=as_user(who)).status_code == 404
        assert client.patch(item, json={"name": "x"}, headers=as_user(who)).status_code == 404
        assert client.delete(item, headers=as_user(who)).status_code == 404
    assert {x["id"] for x in client.get(URL, headers=as_user("mgr2")).json()["items"]} == {site["W_E2"]}
    assert client.delete(item, headers=as_user("mgr1")).status_code == 204
    r = client.post(URL, json=worker(site, enterprise_id=site["E2"]), headers=as_user("mgr1"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "enterprise_id"


def test_worker_input_is_validated(client: TestClient, as_user: Logins, site: Site) -> None:
    h = as_user("mgr1")
    for over, field in (({"phone_key": "12"}, "phone_key"), ({"training_valid_until": "soon"}, "training_valid_until"),
                        ({"certificates": [{"kind": "x", "number": ""}]}, "certificates.0.number"),
                        ({"uid": "00" * 16}, "uid"), ({"user_id": site["mgr2"]}, "user_id"),
                        ({"user_id": site["mgr1"]}, "user_id"), ({"user_id": site["worker1"]}, "user_id")):
        r = client.post(URL, json=worker(site, **over), headers=h)
        assert r.status_code in (409, 422) and r.json()["error"]["field"] == field, (over, r.text)
    r = client.post(URL, json=worker(site, user_id=site["worker1"]), headers=h)
    assert r.status_code == 409  # worker1 is already linked to W1


def test_a_worker_sees_itself_and_registers_its_phone(client: TestClient, as_user: Logins, site: Site) -> None:
    assert client.get(f"{URL}/me").status_code == 401
    assert client.get(f"{URL}/me", headers=as_user("mgr1")).status_code == 404
    me = client.get(f"{URL}/me", headers=as_user("worker1")).json()
    assert me["id"] == site["W1"]
    new_key = crypto.public_raw(crypto.generate_private_key()).hex()
    r = client.put(f"{URL}/me/phone-key", json={"phone_key": new_key}, headers=as_user("worker1"))
    assert r.status_code == 200 and r.json()["phone_key"] == new_key
    r = client.put(f"{URL}/me/phone-key", json={"phone_key": new_key, "active": True}, headers=as_user("worker1"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "active"
    assert client.put(f"{URL}/me/phone-key", json={"phone_key": new_key},
                      headers=as_user("mgr1")).status_code == 404
