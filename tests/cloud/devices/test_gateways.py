"""Gateways: registration, enrolment with one-time expiring codes and CSRs, device tokens, certificate
revocation and the CRL, the command poll's authentication, 401/403/404/422 and object-level authorization."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from cloud.keys.service import Keyring
from fwsim.stage.field import make_csr
from protocols import crypto
from tests.cloud.conftest import Clock, Logins
from tests.cloud.permits.site import Site

URL = "/api/v1/gateways"


def code_for(client: TestClient, as_user: Logins, gateway: str, **body: object) -> str:
    r = client.post(f"{URL}/{gateway}/enrolment-codes", json=body, headers=as_user("tech1"))
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def enrolment(gateway: str, code: str, csr: str | None = None) -> dict[str, object]:
    return {"gateway_id": gateway, "code": code, "csr_pem": csr or make_csr(gateway)[1],
            "signing_key": crypto.public_raw(crypto.generate_private_key()).hex()}


def test_enrolment_signs_the_csr_and_issues_a_device_token(client: TestClient, as_user: Logins, site: Site,
                                                          keyring: Keyring, clock: Clock) -> None:
    assert client.get(f"{URL}/gw-e1", headers=as_user("mgr1")).json()["status"] == "pending"
    key, csr = make_csr("whatever-the-gateway-says")
    r = client.post("/api/v1/enrolment", json=enrolment("gw-e1", code_for(client, as_user, "gw-e1"), csr))
    assert r.status_code == 201, r.text
    out = r.json()
    cert = x509.load_pem_x509_certificate(out["certificate_pem"].encode())
    ca_cert = x509.load_pem_x509_certificate(out["ca_pem"].encode())
    cert.verify_directly_issued_by(ca_cert)
    assert cert.subject.rfc4514_string() == "CN=gw-e1"  # the CA names the gateway, not the CSR
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    assert out["epoch"] == 1 and keyring.command.kid.hex() in out["command_keys"]
    auth = {"Authorization": f"Bearer {out['device_token']}"}
    polled = client.get(f"{URL}/gw-e1/commands", headers=auth).json()["commands"]
    assert len(polled) == 1  # only the cloud's signed time (cloud.downlink.timesync)
    gw = client.get(f"{URL}/gw-e1", headers=as_user("mgr1")).json()
    assert gw["status"] == "active" and gw["epoch"] == 1

    # Re-provisioning: a new code, epoch 2, the old certificate revoked and the old token dead.
    r = client.post("/api/v1/enrolment", json=enrolment("gw-e1", code_for(client, as_user, "gw-e1")))
    assert r.status_code == 201 and r.json()["epoch"] == 2
    assert client.get(f"{URL}/gw-e1/commands", headers=auth).status_code == 401
    certs = client.get(f"{URL}/gw-e1/certificates", headers=as_user("tech1")).json()
    assert [c["revoke_reason"] is not None for c in certs] == [True, False]
    crl = x509.load_pem_x509_crl(client.get("/api/v1/ca/crl.pem").content)
    assert crl.is_signature_valid(ca_cert.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None


def test_expired_reused_and_wrong_codes_are_refused(client: TestClient, as_user: Logins, site: Site,
                                                    keyring: Keyring, clock: Clock) -> None:
    code = code_for(client, as_user, "gw-e1", ttl_minutes=5)
    # A bad CSR is 422 and does not spend the code.
    r = client.post("/api/v1/enrolment", json=enrolment("gw-e1", code, "-----BEGIN CERTIFICATE REQUEST-----\nAA"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "csr_pem"
    assert client.post("/api/v1/enrolment", json=enrolment("gw-e2", code)).status_code == 401  # another gateway's
    assert client.post("/api/v1/enrolment", json=enrolment("gw-e1", code)).status_code == 201
    r = client.post("/api/v1/enrolment", json=enrolment("gw-e1", code))
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"  # reused
    expiring = code_for(client, as_user, "gw-e1", ttl_minutes=5)
    clock.advance(5 * 60)
    assert client.post("/api/v1/enrolment", json=enrolment("gw-e1", expiring)).status_code == 401
    assert client.post("/api/v1/enrolment", json=enrolment("gw-e1", "sge_made-up")).status_code == 401
    r = client.post("/api/v1/enrolment", json={**enrolment("gw-e1", code), "signing_key": "00" * 31})
    assert r.status_code == 422 and r.json()["error"]["field"] == "signing_key"
    assert client.post(f"{URL}/gw-e1/enrolment-codes", json={"ttl_minutes": 1},
                       headers=as_user("tech1")).status_code == 422


def test_device_token_authenticates_only_its_own_gateway(client: TestClient, as_user: Logins, site: Site,
                                                         keyring: Keyring) -> None:
    token = client.post("/api/v1/enrolment", json=enrolment("gw-e1", code_for(client, as_user, "gw-e1"))).json()[
        "device_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{URL}/gw-e1/commands").status_code == 401
    assert client.get(f"{URL}/gw-e1/commands", headers=as_user("mgr1")).status_code == 401  # a user's token
    r = client.get(f"{URL}/gw-e2/commands", headers=auth)
    assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_gateway"
    assert client.get(f"{URL}/gw-e1/commands", params={"after": -1}, headers=auth).status_code == 422
    assert client.post(f"{URL}/gw-e1/revoke", json={"reason": "stolen"}, headers=as_user("mgr1")).status_code == 200
    assert client.get(f"{URL}/gw-e1/commands", headers=auth).status_code == 401
    r = client.post(f"{URL}/gw-e1/enrolment-codes", json={}, headers=as_user("tech1"))
    assert r.status_code == 409


def test_certificate_revocation(client: TestClient, as_user: Logins, site: Site, keyring: Keyring) -> None:
    out = client.post("/api/v1/enrolment", json=enrolment("gw-e1", code_for(client, as_user, "gw-e1"))).json()
    serial = format(x509.load_pem_x509_certificate(out["certificate_pem"].encode()).serial_number, "x")
    url = f"{URL}/gw-e1/certificates/{serial}/revoke"
    assert client.post(url, json={"reason": "key leaked"}, headers=as_user("worker1")).status_code == 403
    assert client.post(url, json={}, headers=as_user("mgr2")).status_code == 404
    r = client.post(url, json={"reason": "key leaked"}, headers=as_user("tech1"))
    assert r.status_code == 200 and r.json()["revoke_reason"] == "key leaked"
    assert client.post(url, json={}, headers=as_user("tech1")).status_code == 409
    assert client.post(f"{URL}/gw-e1/certificates/abc/revoke", json={}, headers=as_user("tech1")).status_code == 404
    crl = x509.load_pem_x509_crl(client.get("/api/v1/ca/crl.pem").content)
    assert crl.get_revoked_certificate_by_serial_number(int(serial, 16)) is not None


def test_gateway_registry_access(client: TestClient, as_user: Logins, site: Site) -> None:
    body = {"id": "gw-new", "enterprise_id": site["E1"], "name": "新网关"}
    assert client.post(URL, json=body).status_code == 401
    assert client.get(URL).status_code == 401
    assert client.post(URL, json=body, headers=as_user("worker1")).status_code == 403
    assert client.post(URL, json=body, headers=as_user("law1")).status_code == 403
    for over, field in (({"id": "gw/1"}, "id"), ({"id": "+"}, "id"), ({"name": ""}, "name"), ({"epoch": 5}, "epoch"),
                        ({"status": "active"}, "status")):
        r = client.post(URL, json={**body, **over}, headers=as_user("tech1"))
        assert r.status_code == 422 and r.json()["error"]["field"] == field, over
    for who, ent in (("mgr1", "E2"), ("tech1", "E2"), ("sup2", "E1")):
        r = client.post(URL, json={**body, "enterprise_id": site[ent]}, headers=as_user(who))
        assert r.status_code == 422 and r.json()["error"]["field"] == "enterprise_id", who
    r = client.post(URL, json=body, headers=as_user("tech1"))
    assert r.status_code == 201 and r.json()["status"] == "pending" and r.json()["epoch"] == 0
    assert client.post(URL, json=body, headers=as_user("mgr1")).status_code == 409
    for who in ("mgr2", "sup2"):
        for path in ("gw-new", "gw-e1"):
            assert client.get(f"{URL}/{path}", headers=as_user(who)).status_code == 404, who
            assert client.patch(f"{URL}/{path}", json={"name": "x"}, headers=as_user(who)).status_code == 404
            assert client.post(f"{URL}/{path}/revoke", json={}, headers=as_user(who)).status_code == 404
            assert client.post(f"{URL}/{path}/enrolment-codes", json={}, headers=as_user(who)).status_code == 404
            assert client.get(f"{URL}/{path}/certificates", headers=as_user(who)).status_code == 404
    assert {g["id"] for g in client.get(URL, headers=as_user("mgr2")).json()["items"]} == {"gw-e2"}
    assert {g["id"] for g in client.get(URL, headers=as_user("sup1")).json()["items"]} == {"gw-e1", "gw-new"}
    r = client.patch(f"{URL}/gw-new", json={"name": "改名"}, headers=as_user("mgr1"))
    assert r.status_code == 200 and r.json()["name"] == "改名"
    assert client.patch(f"{URL}/gw-new", json={"epoch": 9}, headers=as_user("mgr1")).status_code == 422


def test_trust_list_push(client: TestClient, as_user: Logins, site: Site, keyring: Keyring, clock: Clock) -> None:
    from protocols.commands import decode_poll, verify_command
    from protocols.padlock.pushes import verify_trust_list
    from protocols.uplink.fields import b64url_decode

    url = f"{URL}/gw-e1/trust-list"
    assert client.post(url, headers=as_user("tech1")).status_code == 409  # not enrolled: no gateway key
    gateway_key = crypto.generate_private_key()
    out = client.post("/api/v1/enrolment", json={**enrolment("gw-e1", code_for(client, as_user, "gw-e1")),
                                                 "signing_key": crypto.public_raw(gateway_key).hex()}).json()
    assert client.post(url, headers=as_user("mgr2")).status_code == 404
    r = client.post(url, headers=as_user("tech1"))
    assert r.status_code == 202 and r.json()["lock_ids"] == [site.lock_id]
    polled = client.get(f"{URL}/gw-e1/commands", headers={"Authorization": f"Bearer {out['device_token']}"})
    keys = {bytes.fromhex(k): crypto.public_key_from_raw(bytes.fromhex(v)) for k, v in out["command_keys"].items()}
    time_first, push = decode_poll(polled.content)  # the cloud's signed time leads (cloud.downlink.timesync)
    assert verify_command(time_first, keys, gateway_id="gw-e1", last_counter=0, now_ms=None).kind == "time"
    command = verify_command(push, keys, gateway_id="gw-e1", last_counter=0, now_ms=int(clock.now.timestamp() * 1000))
    assert command.kind == "trust_list_update"
    trust = verify_trust_list(b64url_decode(command.body.trust_list),  # type: ignore[union-attr]
                              issuer_keys={keyring.issuer.kid: keyring.issuer.public},
                              lock_id=bytes.fromhex(site.lock_id), current_version=0)
    assert trust.gateway_key == crypto.public_raw(gateway_key) and keyring.issuer.kid in trust.issuer_keys
