"""One confined-space site wired to a running cloud, set up the way its people would through the cloud's API:

the administrator adds the approver and the attendant and registers the workers with their phone keys; the
technician registers the gateway and its padlock, enrols the gateway with a one-time code (CSR → certificate,
device token, trusted command keys) and provisions the factory-new padlock with the cloud's issuer keys and the
gateway's key; the edge.toml is written from what enrolment returned.

The seeded city (``fwsim.stage.world``) gives enterprise E1 with space SP1 (whose rescue card names a tripod),
its manager mgr1 and worker1's account.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from cloud.registry.ids import space_uid
from edge.daemon.keyfile import key_pem
from fwsim.lock import PadlockCore
from fwsim.stage.cloud import CloudProcess
from fwsim.stage.world import PASSWORD
from protocols import crypto
from protocols.padlock import messages as m
from safegrid.files import write_private_file

GATEWAY = "gw-e2e"
TRAINED_UNTIL = date.today() + timedelta(days=365)


@dataclass
class FieldSite:
    cloud: CloudProcess
    http: httpx.AsyncClient
    root: Path
    gateway_key: Ed25519PrivateKey = field(default_factory=crypto.generate_private_key)
    phone_key: Ed25519PrivateKey = field(default_factory=crypto.generate_private_key)
    lock: PadlockCore = field(default_factory=lambda: PadlockCore.factory_new(time.time()))
    ids: dict[str, int] = field(default_factory=dict)
    enrolment: dict[str, Any] = field(default_factory=dict)
    _logins: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def space_id(self) -> int:
        return self.cloud.world["SP1"]

    @property
    def space(self) -> str:
        """The space's 16-byte wire id (tokens, attestations, the gateway's records)."""
        return space_uid(self.space_id).hex()

    @property
    def lock_id(self) -> str:
        return self.lock.lock_id.hex()

    # -- the API ---------------------------------------------------------------------------------------------
    async def auth(self, username: str) -> dict[str, str]:
        if username not in self._logins:
            r = await self.http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            self._logins[username] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return self._logins[username]

    async def call(self, method: str, path: str, as_user: str, *, expect: int = 200, **kw: Any) -> Any:
        r = await self.http.request(method, path, headers=await self.auth(as_user), **kw)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    # -- set-up ----------------------------------------------------------------------------------------------
    async def set_up(self) -> None:
        world = self.cloud.world
        for name, role in (("appr1", "approver"), ("att1", "attendant")):
            user = await self.call("POST", "/api/v1/users", "admin", expect=201, json={
                "username": name, "display_name": name, "password": PASSWORD, "role": role,
                "scope": {"kind": "enterprise", "id": world["E1"]}})
            self.ids[name] = user["id"]
        qualified = {"training_valid_until": TRAINED_UNTIL.isoformat(), "certificates": [
            {"kind": "confined_space_operation", "number": "T-0001", "valid_until": TRAINED_UNTIL.isoformat()}]}
        for name, user, key in (("W1", world["worker1"], self.phone_key), ("ATT", self.ids["att1"], None)):
            body = {"enterprise_id": world["E1"], "name": name, "user_id": user, **qualified}
            if key is not None:
                body["phone_key"] = crypto.public_raw(key).hex()
            self.ids[name] = (await self.call("POST", "/api/v1/workers", "admin", expect=201, json=body))["id"]
        await self.call("POST", "/api/v1/gateways", "admin", expect=201,
                        json={"id": GATEWAY, "enterprise_id": world["E1"], "name": "e2e gateway"})
        await self.call("POST", "/api/v1/padlocks", "admin", expect=201, json={
            "lock_id": self.lock_id, "label": "PL-E2E", "space_id": self.space_id, "gateway_id": GATEWAY,
            "public_key": self.lock.lock_public_key.hex()})
        code = await self.call("POST", f"/api/v1/gateways/{GATEWAY}/enrolment-codes", "admin", expect=201, json={})
        r = await self.http.post("/api/v1/enrolment", json={
            "gateway_id": GATEWAY, "code": code["code"], "csr_pem": make_csr(GATEWAY)[1],
            "signing_key": crypto.public_raw(self.gateway_key).hex()})
        assert r.status_code == 201, r.text
        self.enrolment = r.json()
        self.provision_lock()

    def provision_lock(self) -> None:
        """The technician's provisioning of the factory-new lock (in provisioning mode, at the hatch)."""
        lock = self.lock
        issuer_keys = {bytes.fromhex(k): bytes.fromhex(v) for k, v in self.enrolment["issuer_keys"].items()}
        now = time.time()
        provision = m.Provision(lock_id=lock.lock_id, issuer_keys=issuer_keys,
                                gateway_key=crypto.public_raw(self.gateway_key), time=int(now))
        assert lock.handle(provision.encode(), now).response == m.Result("ok", int(m.MessageType.PROVISION))

    # -- the gateway's configuration ---------------------------------------------------------------------------
    def edge_config(self, *, serial: str, hci: str, uplink: str, serve: bool = False) -> Path:
        """edge.toml for this site: the detector and output module on ``serial``, the padlock on ``hci``; with
        ``serve`` the attendant console and a health endpoint on a free loopback port."""
        write_private_file(self.root / "gateway.key", key_pem(self.gateway_key))
        write_private_file(self.root / "device.token", self.enrolment["device_token"].encode())
        keys = ", ".join(f'"{k}" = "{v}"' for k, v in self.enrolment["command_keys"].items())
        path = self.root / "edge.toml"
        path.write_text(f"""
[gateway]
id = "{GATEWAY}"
epoch = {self.enrolment["epoch"]}
state_dir = "state"
key_file = "gateway.key"

[[buses]]
name = "rs485"
serial = "{serial}"
timeout_s = 0.3

[[detectors]]
id = "GD-SP1"
bus = "rs485"
unit = 1
space = "{self.space}"
poll_interval_s = 0.3
retries = 0

[[output_modules]]
id = "om-1"
bus = "rs485"
unit = 10
watchdog_s = 0
input_poll_s = 0.2

[[spaces]]
id = "{self.space}"
name = "SP1"
output_module = "om-1"
fan_channel = 1
stale_after_polls = 10
attestation_in_range_s = 1
overtime_warning_s = 60

[[padlocks]]
id = "{self.lock_id}"
space = "{self.space}"
public_key = "{self.lock.lock_public_key.hex()}"
backend = "bumble"
hci = "{hci}"

[cloud]
command_keys = {{ {keys} }}

{uplink}

[uplink.batch]
max_linger_s = 0.05

[core]
tick_s = 0.2

[ops]
console = {"true" if serve else "false"}
{"health_port = 0" if serve else ""}
""")
        return path

    def http_uplink(self) -> str:
        return (f'[uplink]\nbackend = "http"\n\n[uplink.http]\nbase_url = "{self.cloud.base_url}"\n'
                f'token_file = "{self.root / "device.token"}"\npoll_interval_s = 0.3\ninsecure = true\n')

    def mqtt_uplink(self, host: str, port: int) -> str:
        """A private broker on loopback, plain TCP, said so (TLS with the enrolled certificate is for real brokers)."""
        return f'[uplink]\nbackend = "mqtt"\n\n[uplink.mqtt]\nhost = "{host}"\nport = {port}\ninsecure = true\n'

    # -- the permit ------------------------------------------------------------------------------------------
    async def apply_and_approve(self) -> dict[str, Any]:
        """mgr1 applies for an operation starting now (worker W1 entering, ATT attending); appr1 approves."""
        start = datetime.now(UTC) - timedelta(minutes=1)
        permit = await self.call("POST", "/api/v1/permits", "mgr1", expect=201, json={
            "space_id": self.space_id, "kind": "operation", "work_start": start.isoformat(),
            "work_end": (start + timedelta(hours=2)).isoformat(), "max_continuous_minutes": 30,
            "gas_test_required": True, "attendant_id": self.ids["ATT"], "entrant_ids": [self.ids["W1"]],
            "required_certificates": ["confined_space_operation"],
            "risk_identification": [{"hazard": "toxic_gas", "measures": "通风并连续检测"}],
            "isolation": ["关闭进水阀"], "ventilation": "机械通风 30 分钟", "ppe": ["正压式空气呼吸器"],
            "rescue_plan": "三脚架救援，监护人呼叫 119"})
        return await self.call("POST", f"/api/v1/permits/{permit['id']}/approve", "appr1", json={"note": "同意"})

    async def alerts(self, **params: Any) -> list[dict[str, Any]]:
        page = await self.call("GET", "/api/v1/alerts", "att1", params={"space_id": self.space_id, **params})
        return list(page["items"])

    async def live_sessions(self) -> list[dict[str, Any]]:
        return list((await self.call("GET", "/api/v1/live/sessions", "mgr1"))["items"])


def make_csr(gateway_id: str) -> tuple[ec.EllipticCurvePrivateKey, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, gateway_id)])).sign(key, hashes.SHA256()))
    return key, csr.public_bytes(serialization.Encoding.PEM).decode("ascii")
