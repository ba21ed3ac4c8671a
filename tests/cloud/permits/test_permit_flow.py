"""The permit flow end to end in the cloud: apply → approve → the worker fetches its token → the token verifies
with the protocols verifier and the padlock's reference decision opens; the gateway polls the signed push."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient

from cloud.keys.service import Keyring
from fwsim.stage.field import make_csr
from protocols import crypto
from protocols.commands import decode_poll, verify_command
from protocols.padlock.challenges import PendingChallenge
from protocols.padlock.messages import Challenge, UnlockRequest
from protocols.padlock.pushes import GasAttestation, LockTrust, sign_gas_attestation
from protocols.padlock.unlock import decide_unlock
from protocols.token import check_unlock, sign_pop, token_hash
from protocols.uplink.fields import b64url_decode
from tests.cloud.conftest import Clock, Logins
from tests.cloud.permits.site import Site, permit_body

URL = "/api/v1/permits"


def keys_of(client: TestClient, kind: str) -> dict[bytes, Ed25519PublicKey]:
    published = client.get("/api/v1/keys").json()[f"{kind}_keys"]
    return {bytes.fromhex(k): crypto.public_key_from_raw(bytes.fromhex(v)) for k, v in published.items()}


def apply_and_approve(client: TestClient, as_user: Logins, site: Site, clock: Clock, **over: object) -> dict:
    r = client.post(URL, json=permit_body(site, clock, **over), headers=as_user("mgr1"))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "applied"
    r = client.post(f"{URL}/{r.json()['id']}/approve", json={"note": "同意"}, headers=as_user("appr1"))
    assert r.status_code == 200, r.text
    return r.json()


def enrol(client: TestClient, as_user: Logins, gateway: str, gateway_key: Ed25519PublicKey | None = None) -> dict:
    code = client.post(f"/api/v1/gateways/{gateway}/enrolment-codes", json={}, headers=as_user("tech1")).json()
    signing = gateway_key or crypto.generate_private_key().public_key()
    r = client.post("/api/v1/enrolment", json={"gateway_id": gateway, "code": code["code"],
                                               "csr_pem": make_csr(gateway)[1],
                                               "signing_key": crypto.public_raw(signing).hex()})
    assert r.status_code == 201, r.text
    return r.json()


def test_apply_approve_token_unlocks(client: TestClient, as_user: Logins, site: Site, clock: Clock,
                                     keyring: Keyring) -> None:
    gateway_key = crypto.generate_private_key()
    device = enrol(client, as_user, "gw-e1", gateway_key.public_key())
    permit = apply_and_approve(client, as_user, site, clock)
    assert permit["status"] == "approved" and len(permit["tokens"]) == 2
    assert permit["rescue_card"]["rescue_equipment"] == ["三脚架"]
    assert [a["level"] for a in permit["approvals"]] == ["enterprise"]

    r = client.get(f"/api/v1/workers/me/permits/{permit['id']}/token", headers=as_user("worker1"))
    assert r.status_code == 200, r.text
    token = b64url_decode(r.json()["token"])
    assert r.json()["lock_ids"] == [site.lock_id]

    # At the hatch, inside the window: the phone signs the lock's challenge; the lock verifies offline.
    clock.advance(3600)
    now = int(clock.now.timestamp())
    lock_id = bytes.fromhex(site.lock_id)
    challenge = Challenge(nonce=os.urandom(16), lock_id=lock_id, counter=7, lock_time=now)
    pop = sign_pop(site.phone["W1"], challenge.encode(), lock_id, token_hash(token))
    issuer_keys = keys_of(client, "issuer")
    claims = check_unlock(token, pop, challenge.encode(), issuer_keys=issuer_keys, now=now, lock_id=lock_id)
    assert claims.permit_id.hex() == permit["uid"] and claims.space_id.hex() == permit["space_uid"]
    assert claims.max_duration_s == 45 * 60 and claims.entrant_limit == 2 and claims.gas_test_required

    attestation = sign_gas_attestation(GasAttestation(space_id=claims.space_id, all_in_range=True,
                                                      measured_at=now - 60, valid_until=now + 600), gateway_key)
    trust = LockTrust(lock_id=lock_id, issuer_keys=issuer_keys, gateway_key=gateway_key.public_key())
    decision = decide_unlock(UnlockRequest(nonce=challenge.nonce, token=token, pop_signature=pop), now=now,
                             trust=trust, challenge=PendingChallenge(challenge), revocations=None,
                             attestation=attestation)
    assert decision.ok, decision.result
    # Another worker's phone cannot use this token.
    bad_pop = sign_pop(site.phone["W2"], challenge.encode(), lock_id, token_hash(token))
    assert decide_unlock(UnlockRequest(nonce=challenge.nonce, token=token, pop_signature=bad_pop), now=now,
                         trust=trust, challenge=PendingChallenge(challenge), revocations=None,
                         attestation=attestation).result == "bad_pop"

    # The gateway polls the signed permit pushes (one per entrant's token) and verifies them.
    auth = {"Authorization": f"Bearer {device['device_token']}"}
    r = client.get("/api/v1/gateways/gw-e1/commands", params={"after": 0}, headers=auth)
    assert r.status_code == 200, r.text
    command_keys = keys_of(client, "command")
    last, pushed = 0, []
    for signed in decode_poll(r.content):
        command = verify_command(signed, command_keys, gateway_id="gw-e1", last_counter=last,
                                 now_ms=int(clock.now.timestamp() * 1000))
        last = command.counter
        pushed.append(command)
    assert pushed[0].kind == "time"  # the cloud's signed time leads (cloud.downlink.timesync)
    pushed = pushed[1:]
    assert [c.kind for c in pushed] == ["permit_issued", "permit_issued"]
    assert {c.body.claims.token_id for c in pushed} == {t["cti"] for t in permit["tokens"]}  # type: ignore[union-attr]
    first = pushed[0].body.claims  # type: ignore[union-attr]
    assert first.not_before_ms == claims.window_start * 1000 and first.max_continuous_ms == 45 * 60 * 1000
    assert client.get("/api/v1/gateways/gw-e1/commands", params={"after": last}, headers=auth).json() == \
        {"v": 1, "commands": []}


def test_high_risk_needs_the_regulator_after_the_enterprise(client: TestClient, as_user: Logins, site: Site,
                                                            clock: Clock, keyring: Keyring) -> None:
    r = client.post(URL, json=permit_body(site, clock, high_risk=True), headers=as_user("mgr1"))
    pid = r.json()["id"]
    approve = f"{URL}/{pid}/approve"
    r = client.post(approve, json={}, headers=as_user("reg1"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "wrong_level"
    r = client.post(approve, json={}, headers=as_user("appr1"))
    assert r.json()["status"] == "awaiting_regulator" and r.json()["tokens"] == []
    assert client.get(f"/api/v1/workers/me/permits/{pid}/token", headers=as_user("worker1")).status_code == 404
    assert client.post(approve, json={}, headers=as_user("appr1")).json()["error"]["code"] == "wrong_level"
    assert client.post(approve, json={}, headers=as_user("reg2")).status_code == 404  # another district
    r = client.post(approve, json={"note": "重点监管"}, headers=as_user("reg1"))
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert [a["level"] for a in r.json()["approvals"]] == ["enterprise", "regulator"]
    assert client.get(f"/api/v1/workers/me/permits/{pid}/token", headers=as_user("worker1")).status_code == 200


def test_unqualified_entrant_is_refused_with_the_reason(client: TestClient, as_user: Logins, site: Site,
                                                        clock: Clock, keyring: Keyring) -> None:
    admin = as_user("admin")
    client.patch(f"/api/v1/workers/{site['W2']}", json={"training_valid_until": "2026-05-01"}, headers=admin)
    r = client.post(URL, json=permit_body(site, clock), headers=as_user("mgr1"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "unqualified"
    assert "entrant W2" in r.json()["error"]["message"] and "2026-05-01" in r.json()["error"]["message"]
    r = client.post(URL, json=permit_body(site, clock, required_certificates=["hot_work"]), headers=as_user("mgr1"))
    assert r.status_code == 409 and "holds no hot_work certificate" in r.json()["error"]["message"]
    # Qualified at application, lapsed before approval: the approval is refused and nothing is issued.
    client.patch(f"/api/v1/workers/{site['W2']}", json={"training_valid_until": "2027-01-01"}, headers=admin)
    pid = client.post(URL, json=permit_body(site, clock), headers=as_user("mgr1")).json()["id"]
    client.patch(f"/api/v1/workers/{site['ATT']}", json={"training_valid_until": "2026-01-01"}, headers=admin)
    r = client.post(f"{URL}/{pid}/approve", json={}, headers=as_user("appr1"))
    assert r.status_code == 409 and r.json()["error"]["field"] == "attendant_id"
    assert "attendant ATT" in r.json()["error"]["message"]
    assert client.get(f"{URL}/{pid}", headers=as_user("mgr1")).json()["status"] == "applied"
    r = client.post(f"{URL}/{pid}/refuse", json={"reason": "监护人培训过期"}, headers=as_user("appr1"))
    assert r.json()["status"] == "refused" and r.json()["reason"] == "监护人培训过期"


def test_pre_entry_confirmation_is_stored(client: TestClient, as_user: Logins, site: Site, clock: Clock,
                                          keyring: Keyring) -> None:
    pid = apply_and_approve(client, as_user, site, clock)["id"]
    body = {"gas_readings": [{"gas": "O2", "value": 20.9, "unit": "%VOL"}, {"gas": "H2S", "value": 0, "unit": "ppm"}],
            "tested_at": clock.now.isoformat(), "isolation_confirmed": True, "ventilation_confirmed": True,
            "ppe_checked": True, "rescue_equipment_ready": True, "entrants_briefed": True}
    r = client.post(f"{URL}/{pid}/pre-entry", json={**body, "ppe_checked": False}, headers=as_user("att1"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "ppe_checked"
    assert client.post(f"{URL}/{pid}/pre-entry", json=body, headers=as_user("worker1")).status_code == 403
    r = client.post(f"{URL}/{pid}/pre-entry", json=body, headers=as_user("att1"))
    assert r.status_code == 200, r.text
    assert r.json()["pre_entry"]["confirmed_by"] == "att1" and r.json()["pre_entry"]["gas_readings"][0]["gas"] == "O2"


def test_key_rotation_keeps_old_tokens_verifiable(client: TestClient, as_user: Logins, site: Site, clock: Clock,
                                                  keyring: Keyring, settings: object) -> None:
    from cloud.keys.service import ISSUER_RETENTION, keys_dir, rotate

    old = apply_and_approve(client, as_user, site, clock)
    old_token = b64url_decode(client.get(f"/api/v1/workers/me/permits/{old['id']}/token",
                                         headers=as_user("worker1")).json()["token"])
    rotated = rotate(keys_dir(settings.data_dir), "issuer", now=clock.now)  # type: ignore[attr-defined]
    new = apply_and_approve(client, as_user, site, clock)
    assert new["tokens"][0]["kid"] == rotated.issuer.kid.hex() != old["tokens"][0]["kid"]
    clock.advance(3600)
    now = int(clock.now.timestamp())
    keys = keys_of(client, "issuer")
    assert set(keys) == {keyring.issuer.kid, rotated.issuer.kid}
    lock_id = bytes.fromhex(site.lock_id)
    challenge = os.urandom(32)
    pop = sign_pop(site.phone["W1"], challenge, lock_id, token_hash(old_token))
    assert check_unlock(old_token, pop, challenge, issuer_keys=keys, now=now, lock_id=lock_id).cti.hex() == \
        old["tokens"][0]["cti"]
    # Once every token it signed has expired, the retired key is no longer published.
    clock.advance(ISSUER_RETENTION.total_seconds())
    assert set(keys_of(client, "issuer")) == {rotated.issuer.kid}
