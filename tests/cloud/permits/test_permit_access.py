"""Permits: revocation pushed on a real broker, 401/403/404/422 on every endpoint, cross-enterprise and
cross-district object-level authorization."""

from __future__ import annotations

from fastapi.testclient import TestClient

from cloud.db.engine import Database
from cloud.downlink.mqtt import BrokerSettings, MqttPublisher
from cloud.downlink.publisher import publish_pending
from cloud.keys.service import Keyring
from fwsim.rig.mosquitto import MosquittoBroker
from protocols import topics
from protocols.commands import verify_command
from protocols.revocation import verify_revocation_list
from protocols.uplink.fields import b64url_decode
from tests.cloud.conftest import Clock, Logins
from tests.cloud.permits.site import Site, Subscriber, permit_body
from tests.cloud.permits.test_permit_flow import URL, apply_and_approve, keys_of


def test_revoke_publishes_a_signed_revocation_on_the_gateway_topic(client: TestClient, as_user: Logins, site: Site,
                                                                   clock: Clock, keyring: Keyring,
                                                                   database: Database,
                                                                   mosquitto: MosquittoBroker) -> None:
    permit = apply_and_approve(client, as_user, site, clock)
    gateway = Subscriber(mosquitto, topics.downlink_topic("gw-e1"), client_id="gw-e1-test")
    try:
        r = client.post(f"{URL}/{permit['id']}/revoke", json={"reason": "气体异常"}, headers=as_user("mgr1"))
        assert r.status_code == 200 and r.json()["status"] == "revoked", r.text
        assert all(t["revoked_at"] is not None for t in r.json()["tokens"])
        with MqttPublisher(BrokerSettings(host=mosquitto.host, port=mosquitto.port, client_id="cloud-downlink")) as pub:
            assert publish_pending(database, pub, now=clock.now) == 5
            assert publish_pending(database, pub, now=clock.now) == 0  # each command once
        received = [gateway.next() for _ in range(5)]
    finally:
        gateway.close()
    command_keys = keys_of(client, "command")
    last, kinds, commands = 0, [], []
    for wire in received:
        command = verify_command(wire, command_keys, gateway_id="gw-e1", last_counter=last,
                                 now_ms=int(clock.now.timestamp() * 1000))
        last = command.counter
        kinds.append(command.kind)
        commands.append(command)
    assert kinds == ["permit_issued", "permit_issued", "permit_revoked", "permit_revoked", "revocation_list"]
    assert commands[2].body.reason == "气体异常"  # type: ignore[union-attr]
    signed_list = b64url_decode(commands[-1].body.revocation_list)  # type: ignore[union-attr]
    revocations = verify_revocation_list(signed_list, keys_of(client, "issuer"))
    assert {cti.hex() for cti in revocations.revoked} == {t["cti"] for t in permit["tokens"]}
    assert client.get(f"/api/v1/workers/me/permits/{permit['id']}/token", headers=as_user("worker1")).status_code == 404
    r = client.post(f"{URL}/{permit['id']}/revoke", json={"reason": "again"}, headers=as_user("mgr1"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "wrong_state"


def test_permit_endpoints_refuse_the_anonymous_and_the_wrong_roles(client: TestClient, as_user: Logins, site: Site,
                                                                   clock: Clock, keyring: Keyring) -> None:
    pid = client.post(URL, json=permit_body(site, clock), headers=as_user("mgr1")).json()["id"]
    for method, path in (("get", URL), ("post", URL), ("get", f"{URL}/{pid}"), ("post", f"{URL}/{pid}/approve"),
                         ("post", f"{URL}/{pid}/refuse"), ("post", f"{URL}/{pid}/pre-entry"),
                         ("post", f"{URL}/{pid}/revoke"), ("get", f"/api/v1/workers/me/permits/{pid}/token")):
        assert client.request(method, path, json={}).status_code == 401, path
    for who, path, body in (("worker1", URL, permit_body(site, clock)), ("appr1", URL, permit_body(site, clock)),
                            ("mgr1", f"{URL}/{pid}/approve", {}), ("sup1", f"{URL}/{pid}/approve", {}),
                            ("worker1", f"{URL}/{pid}/refuse", {"reason": "x"}),
                            ("worker1", f"{URL}/{pid}/revoke", {"reason": "x"})):
        assert client.post(path, json=body, headers=as_user(who)).status_code == 403, (who, path)


def test_permit_input_is_validated(client: TestClient, as_user: Logins, site: Site, clock: Clock) -> None:
    h = as_user("mgr1")
    start = clock.now.isoformat()
    for over, field in (({"work_end": start, "work_start": start}, "body"), ({"entrant_ids": []}, "entrant_ids"),
                        ({"attendant_id": site["W1"]}, "body"), ({"kind": "party"}, "kind"),
                        ({"work_start": "2026-05-04T10:00:00"}, "work_start"), ({"ppe": []}, "ppe"),
                        ({"risk_identification": [{"hazard": "ghosts", "measures": "x"}]},
                         "risk_identification.0.hazard"),
                        ({"max_continuous_minutes": 0}, "max_continuous_minutes"), ({"status": "approved"}, "status"),
                        ({"space_id": site["SP2"]}, "space_id"), ({"entrant_ids": [site["W1"], site["W_E2"]]},
                                                                  "entrant_ids.1"),
                        ({"work_end": clock.now.replace(year=2025).isoformat(),
                          "work_start": clock.now.replace(year=2025, hour=8).isoformat()}, "work_end")):
        r = client.post(URL, json=permit_body(site, clock, **over), headers=h)
        assert r.status_code == 422, (over, r.text)
        assert r.json()["error"]["field"] == field, (over, r.json())
    pid = client.post(URL, json=permit_body(site, clock), headers=h).json()["id"]
    r = client.post(f"{URL}/{pid}/refuse", json={"reason": ""}, headers=as_user("appr1"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "reason"


def test_permits_are_invisible_across_enterprises_and_districts(client: TestClient, as_user: Logins, site: Site,
                                                                clock: Clock, keyring: Keyring) -> None:
    permit = apply_and_approve(client, as_user, site, clock)
    pid = permit["id"]
    for who in ("mgr2", "sup2", "appr2", "reg2"):
        assert client.get(f"{URL}/{pid}", headers=as_user(who)).status_code == 404, who
        assert pid not in {p["id"] for p in client.get(URL, headers=as_user(who)).json()["items"]}, who
    for who in ("sup1", "officer1", "law1", "worker1"):
        assert client.get(f"{URL}/{pid}", headers=as_user(who)).status_code == 200, who
    assert client.post(f"{URL}/{pid}/revoke", json={"reason": "x"}, headers=as_user("mgr2")).status_code == 404
    assert client.post(f"{URL}/{pid}/revoke", json={"reason": "x"}, headers=as_user("sup2")).status_code == 404
    assert client.post(f"{URL}/{pid}/refuse", json={"reason": "x"}, headers=as_user("appr2")).status_code == 404
    assert client.post(f"{URL}/{pid}/approve", json={}, headers=as_user("appr2")).status_code == 404
    pre_entry = {"gas_readings": [{"gas": "O2", "value": 20.9, "unit": "%VOL"}], "tested_at": clock.now.isoformat(),
                 "isolation_confirmed": True, "ventilation_confirmed": True, "ppe_checked": True,
                 "rescue_equipment_ready": True, "entrants_briefed": True}
    assert client.post(f"{URL}/{pid}/pre-entry", json=pre_entry, headers=as_user("mgr2")).status_code == 404
    # The token endpoint serves only the entrant it names: not the attendant, not another enterprise's worker.
    assert client.get(f"/api/v1/workers/me/permits/{pid}/token", headers=as_user("att1")).status_code == 404
    assert client.get(f"/api/v1/workers/me/permits/{pid}/token", headers=as_user("mgr2")).status_code == 404
    assert client.get(f"/api/v1/workers/me/permits/{pid}/token", headers=as_user("worker2")).status_code == 200
    # Applying for another enterprise's space answers like a missing space.
    r = client.post(URL, json=permit_body(site, clock, space_id=site["SP1"]), headers=as_user("mgr2"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "space_id"
