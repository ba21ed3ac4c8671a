"""Gateways over HTTPS with their enrolment certificate instead of a device token, with real parts.

``safegrid-cloud serve`` runs in its own process with ``[api.tls]`` (a server certificate made here, signed by a
test infrastructure CA; ``client_ca_file`` = the cloud's device CA from its key store). Two gateways enrol through
the API (CSR → certificate). The edge's own HTTP uplink, configured with the certificate and no token file, sends
records and gets their ack, and its command poll gets a signed ``time`` command. Then what must be refused is:
no credentials (401), gateway A's certificate — or token — on gateway B's URL (403 ``wrong_gateway``), a revoked
certificate (401, also on a connection opened before the revocation), a certificate of another CA (handshake
refused), one of an old device CA the TLS layer still trusts (401: the app checks the key store's current CA),
and one the current CA signed but the registry never issued (401).

The TLS extension itself (``cloud.http.tls``) is checked on uvicorn in the test's event loop with an app that
echoes it.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from cloud.cli import main
from cloud.db.engine import Database
from cloud.http.tls import TlsH11Protocol, uvicorn_tls_options
from cloud.keys import ca
from cloud.keys.service import keys_dir
from cloud.keys.store import keyring_path, read_key_file
from cloud.settings import CONFIG_PATH_ENV, ApiTlsSettings
from edge.outbox import Outbox
from edge.uplink import BatchConfig, HttpConfig, Sender
from edge.uplink.config import TlsConfig
from edge.uplink.http import HttpUplink
from fwsim.rig.processes import ManagedProcess, free_port
from fwsim.stage.cloud import START_TIMEOUT_S, prepare
from fwsim.stage.field import make_csr
from fwsim.stage.world import PASSWORD, World
from protocols.commands import verify_command
from protocols.crypto import public_key_from_raw
from protocols.uplink import Ack
from tests.rig.mqtt_tls import Identity, Pki

GW_A, GW_B = "gw-mtls-a", "gw-mtls-b"
BASE_MS = 1_767_225_600_000
RECORDS = 5


@dataclass
class TlsCloud:
    base_url: str
    root: Path
    pki: Pki
    database: Database
    world: World
    process: ManagedProcess
    admin: dict[str, str] = field(default_factory=dict)
    enrolled: dict[str, dict[str, Any]] = field(default_factory=dict)
    identities: dict[str, Identity] = field(default_factory=dict)

    def context(self, identity: Identity | None = None) -> ssl.SSLContext:
        """A client's TLS context: trusts the server's CA, shows ``identity``'s certificate if given."""
        context = ssl.create_default_context(cafile=str(self.pki.infra_ca))
        if identity is not None:
            context.load_cert_chain(identity.cert, identity.key)
        return context

    def client(self, identity: Identity | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, verify=self.context(identity), timeout=10)


def _identity(directory: Path, name: str, key_pem: bytes, cert_pem: bytes) -> Identity:
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    cert.write_bytes(cert_pem)
    key.write_bytes(key_pem)
    key.chmod(0o600)
    return Identity(name, cert, key)


async def _healthy(cloud: TlsCloud) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    async with cloud.client() as http:
        while True:
            cloud.process.check_alive()
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the cloud did not become healthy:\n{cloud.process.log_tail()}")
            await asyncio.sleep(0.2)


@asynccontextmanager
async def tls_cloud(root: Path) -> AsyncIterator[TlsCloud]:
    """``safegrid-cloud serve`` over HTTPS. Its ``client_ca_file`` holds the key store's device CA and, as after a
    CA change whose file was not updated, the PKI's other device CA: the handshake accepts both, the app only one."""
    settings, config, database, world = prepare(root / "cloud")
    pki = Pki(root / "pki")
    server_key, server_cert = pki.broker()  # localhost / 127.0.0.1, signed by the infrastructure CA
    (root / "server.crt").write_bytes(server_cert)
    (root / "server.key").write_bytes(server_key)
    (root / "server.key").chmod(0o600)
    current_ca = read_key_file(keyring_path(keys_dir(settings.data_dir))).ca_cert_pem
    (root / "client-ca.pem").write_bytes(current_ca + pki.device_ca_pem)
    config.write_text(config.read_text() + f'[api.tls]\ncert_file = "{root / "server.crt"}"\n'
                      f'key_file = "{root / "server.key"}"\nclient_ca_file = "{root / "client-ca.pem"}"\n')
    port = free_port()
    process = ManagedProcess("safegrid-cloud", root / "serve.log")
    env = {k: v for k, v in os.environ.items() if k != "SAFEGRID_DATABASE_URL"}
    process.start([sys.executable, "-m", "cloud.cli", "--log-level", "WARNING", "serve", "--config", str(config),
                   "--host", "127.0.0.1", "--port", str(port)], env=env)
    cloud = TlsCloud(f"https://127.0.0.1:{port}", root, pki, database, world, process)
    try:
        await _healthy(cloud)
        yield cloud
    finally:
        process.stop(timeout_s=20)
        database.dispose()


async def enrol_gateways(cloud: TlsCloud, http: httpx.AsyncClient) -> None:
    """The technician's part, through the API: register, get a code, enrol with a CSR (the key stays here)."""
    r = await http.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    assert r.status_code == 200, r.text
    cloud.admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
    for gateway in (GW_A, GW_B):
        r = await http.post("/api/v1/gateways", headers=cloud.admin,
                            json={"id": gateway, "enterprise_id": cloud.world["E1"], "name": gateway})
        assert r.status_code == 201, r.text
        r = await http.post(f"/api/v1/gateways/{gateway}/enrolment-codes", headers=cloud.admin, json={})
        assert r.status_code == 201, r.text
        key, csr_pem = make_csr(gateway)
        r = await http.post("/api/v1/enrolment", json={"gateway_id": gateway, "code": r.json()["code"],
                                                       "csr_pem": csr_pem, "signing_key": "ab" * 32})
        assert r.status_code == 201, r.text
        cloud.enrolled[gateway] = r.json()
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        cloud.identities[gateway] = _identity(cloud.root, gateway, key_pem, r.json()["certificate_pem"].encode())


async def uplink_with_certificate(cloud: TlsCloud, tmp_path: Path) -> None:
    """(a) the edge's HTTP uplink sends records and gets their ack; (b) its poll gets a signed time command."""
    identity, enrolled = cloud.identities[GW_A], cloud.enrolled[GW_A]
    config = HttpConfig(base_url=cloud.base_url, poll_interval_s=60,
                        tls=TlsConfig(ca_file=cloud.pki.infra_ca, cert_file=identity.cert, key_file=identity.key))
    assert config.token_file is None
    batch = BatchConfig(max_records=100, max_linger_s=0.01, backoff_initial_s=0.05)
    outbox = await Outbox.open(tmp_path / "outbox.db", epoch=enrolled["epoch"])
    uplink = HttpUplink(config, gateway=GW_A, last_down_counter=lambda: 0)
    acks: list[Ack] = []
    uplink.add_ack_listener(acks.append)
    try:
        async with uplink:
            sender = Sender(outbox, uplink, batch)
            sender.start()
            try:
                for i in range(1, RECORDS + 1):
                    outbox.append_nowait("event", BASE_MS + i, {"type": "mtls_test", "data": {"i": i}})
                await outbox.flush()
                sender.notify()
                await asyncio.wait_for(sender.wait_acked(RECORDS), 30)
            finally:
                await sender.stop()
            polled = await asyncio.wait_for(uplink.next_command(), 30)
            uplink.command_handled()
    finally:
        await outbox.close()
    assert acks and acks[-1].gateway == GW_A and acks[-1].epoch == enrolled["epoch"]
    assert acks[-1].watermark == RECORDS
    keys = {bytes.fromhex(kid): public_key_from_raw(bytes.fromhex(raw))
            for kid, raw in enrolled["command_keys"].items()}
    command = verify_command(polled, keys, gateway_id=GW_A, last_counter=0, now_ms=None)
    assert command.kind == "time"
    async with cloud.client() as http:
        streams = (await http.get(f"/api/v1/gateways/{GW_A}/streams", headers=cloud.admin)).json()
    assert streams[0]["epoch"] == enrolled["epoch"] and streams[0]["watermark"] == RECORDS


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code} {response.text}"
    body: dict[str, Any] = response.json()["error"]
    return body


def _commands(gateway: str) -> str:
    return f"/api/v1/gateways/{gateway}/commands"


def _batches(gateway: str) -> str:
    return f"/api/v1/gateways/{gateway}/batches"


def _empty_batch(gateway: str, epoch: int) -> bytes:
    return json.dumps({"v": 1, "gateway": gateway, "epoch": epoch, "sent_at_ms": BASE_MS, "records": []}).encode()


def forged_identity(cloud: TlsCloud) -> Identity:
    """A certificate for gateway A signed by the cloud's current device CA that the registry never issued (what a
    copy of the CA key, or a certificate restored from an old backup of another deployment, would give)."""
    keys = read_key_file(keyring_path(keys_dir(cloud.root / "cloud" / "data")))
    key, csr_pem = make_csr(GW_A)
    cert = ca.sign_gateway_certificate(ca.parse_csr(csr_pem), gateway_id=GW_A, ca_key_pem=keys.ca_key_pem,
                                       ca_cert_pem=keys.ca_cert_pem, now=datetime.now(UTC), lifetime=timedelta(days=1))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return _identity(cloud.root, "forged", key_pem, ca.certificate_pem(cert).encode())


async def refusals(cloud: TlsCloud) -> None:
    """(c) what is refused, and that the certificate path answers as the device-token path does."""
    a, b = cloud.identities[GW_A], cloud.identities[GW_B]
    token_a = {"Authorization": f"Bearer {cloud.enrolled[GW_A]['device_token']}"}
    json_type = {"Content-Type": "application/json"}
    async with cloud.client() as anonymous:
        r = await anonymous.get(_commands(GW_A))
        assert _error(r, 401)["code"] == "unauthorized" and r.headers["www-authenticate"] == "Bearer"
        assert _error(await anonymous.post(_batches(GW_A), content=_empty_batch(GW_A, 1), headers=json_type),
                      401)["code"] == "unauthorized"
        # Gateway A's token on gateway B's URL: the answer the certificate path must give too.
        assert _error(await anonymous.get(_commands(GW_B), headers=token_a), 403)["code"] == "wrong_gateway"

    async with cloud.client(a) as with_a:
        assert (await with_a.get(_commands(GW_A))).status_code == 200
        r = await with_a.post(_batches(GW_A), content=_empty_batch(GW_A, cloud.enrolled[GW_A]["epoch"]),
                              headers=json_type)
        assert r.status_code == 200 and r.json()["watermark"] == RECORDS
        assert _error(await with_a.get(_commands(GW_B)), 403)["code"] == "wrong_gateway"
        r = await with_a.post(_batches(GW_B), content=_empty_batch(GW_B, 1), headers=json_type)
        assert _error(r, 403)["code"] == "wrong_gateway"

        # Revoked through the API: refused at once, also on this connection opened before the revocation.
        serial = (await with_a.get(f"/api/v1/gateways/{GW_A}/certificates", headers=cloud.admin)).json()[0]["serial"]
        r = await with_a.post(f"/api/v1/gateways/{GW_A}/certificates/{serial}/revoke", headers=cloud.admin,
                              json={"reason": "lost"})
        assert r.status_code == 200, r.text
        error = _error(await with_a.get(_commands(GW_A)), 401)
        assert error["code"] == "unauthorized" and "revoked" in error["message"]
        # The device token is another credential: revoking the certificate leaves it working.
        assert (await with_a.get(_commands(GW_A), headers=token_a)).status_code == 200
    async with cloud.client(a) as with_a:
        assert "revoked" in _error(await with_a.get(_commands(GW_A)), 401)["message"]

    # A whole gateway revoked: its certificate goes with it.
    async with cloud.client(b) as with_b:
        assert (await with_b.get(_commands(GW_B))).status_code == 200
        r = await with_b.post(f"/api/v1/gateways/{GW_B}/revoke", headers=cloud.admin, json={"reason": "stolen"})
        assert r.status_code == 200, r.text
        assert "revoked" in _error(await with_b.get(_commands(GW_B)), 401)["message"]

    # An old device CA still in client_ca_file: the handshake passes, the app checks the key store's CA.
    async with cloud.client(cloud.pki.gateway(GW_A)) as old_ca:
        assert "device CA" in _error(await old_ca.get(_commands(GW_A)), 401)["message"]
    # Signed by the current CA but never issued by the registry: refused by serial and fingerprint.
    async with cloud.client(forged_identity(cloud)) as forged:
        assert "not one the cloud issued" in _error(await forged.get(_commands(GW_A)), 401)["message"]
    # Another CA (same name as the device CA, another key): the server refuses the handshake (under TLS 1.3 the
    # client learns of it from the server's alert on its first read).
    async with cloud.client(cloud.pki.gateway(GW_A, rogue=True)) as rogue:
        with pytest.raises(httpx.TransportError):
            await rogue.get(_commands(GW_A))


async def test_gateway_authenticates_with_its_enrolment_certificate_over_https(tmp_path: Path) -> None:
    async with tls_cloud(tmp_path / "srv") as cloud:
        try:
            async with cloud.client() as http:
                await enrol_gateways(cloud, http)
            await uplink_with_certificate(cloud, tmp_path)
            await refusals(cloud)
        except BaseException:
            print(cloud.process.log_tail())
            raise


# -- the ASGI TLS extension, on uvicorn in this event loop ---------------------------------------------------------


async def _echo_tls(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    body = json.dumps((scope.get("extensions") or {}).get("tls")).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


async def test_tls_extension_in_the_scope(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    key_pem, cert_pem = pki.broker()
    (tmp_path / "server.crt").write_bytes(cert_pem)
    (tmp_path / "server.key").write_bytes(key_pem)
    options = uvicorn_tls_options(ApiTlsSettings(cert_file=tmp_path / "server.crt", key_file=tmp_path / "server.key",
                                                 client_ca_file=pki.device_ca), config_path=None)
    assert options["http"] is TlsH11Protocol and options["ssl_cert_reqs"] == ssl.CERT_OPTIONAL
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(_echo_tls, host="127.0.0.1", port=port, lifespan="off",
                                           log_level="warning", **options))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serving.done(), "uvicorn stopped"
            await asyncio.sleep(0.02)
        gateway = pki.gateway("gw-echo")
        context = ssl.create_default_context(cafile=str(pki.infra_ca))
        context.load_cert_chain(gateway.cert, gateway.key)
        async with httpx.AsyncClient(verify=context, timeout=10) as http:
            tls = (await http.get(f"https://127.0.0.1:{port}/")).json()
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(pki.infra_ca)), timeout=10) as http:
            anonymous = (await http.get(f"https://127.0.0.1:{port}/")).json()
    finally:
        server.should_exit = True
        await serving
    shown = x509.load_pem_x509_certificate(gateway.cert.read_bytes())
    assert [x509.load_pem_x509_certificate(p.encode()) for p in tls["client_cert_chain"]] == [shown]
    assert tls["client_cert_name"] == "CN=gw-echo" and tls["client_cert_error"] is None
    assert x509.load_pem_x509_certificate(tls["server_cert"].encode()) == x509.load_pem_x509_certificate(cert_pem)
    assert tls["tls_version"] == 0x0304 and tls["cipher_suite"] in (0x1301, 0x1302, 0x1303)
    assert anonymous["client_cert_chain"] == [] and anonymous["client_cert_name"] is None


def test_serve_names_a_tls_file_it_cannot_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "cloud.toml"
    config.write_text(f'[api.tls]\ncert_file = "{tmp_path / "missing.crt"}"\nkey_file = "{tmp_path / "missing.key"}"\n')
    monkeypatch.setenv(CONFIG_PATH_ENV, str(config))  # serve sets it for its workers; restored after the test
    assert main(["serve", "--config", str(config)]) == 2
    assert f"{config}: api.tls.cert_file: cannot load it" in capsys.readouterr().err
