"""The shipped broker config (``config/mosquitto/``) on a private Mosquitto, with certificates made for the test.

The config and ACL files are used as shipped; only what must differ on a test machine is rewritten: the
``/etc/mosquitto/`` paths point into a temp dir, both listeners move to free loopback ports, and the log goes
to stderr (the rig's log file). Every rewrite must match exactly once and every file the config names must
exist, so a change to the shipped files shows up here instead of being silently left untested.

The certificates are those of a deployment:

- the **device CA** is the cloud's own (``cloud.keys.ca``); a gateway certificate is signed from the gateway's
  CSR exactly as at enrolment (``parse_csr`` + ``sign_gateway_certificate``, CN = gateway id);
- the **infrastructure CA** (an operator's, made with openssl in docs/operations.md) signs the broker's server
  certificate and the cloud services' client certificate (CN ``safegrid.cloud``);
- a **rogue CA** — same name as the device CA, other key — signs certificates no broker should accept.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import queue
import re
import shutil
import signal
import ssl
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import paho.mqtt.client as paho
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from paho.mqtt.enums import CallbackAPIVersion

from cloud.keys import ca
from fwsim.rig.mosquitto import MosquittoBroker
from fwsim.rig.processes import free_port, is_listening, wait_until

REPO = Path(__file__).resolve().parents[2]
SHIPPED_CONF = REPO / "config" / "mosquitto" / "safegrid.conf"
SHIPPED_ACL = REPO / "config" / "mosquitto" / "safegrid.acl"
SHIPPED_ETC = "/etc/mosquitto/"
GATEWAY_LISTENER = "listener 8883"  # the lines of the shipped config the test moves to free ports
SERVICE_LISTENER = "listener 8884 127.0.0.1"
CLOUD_CN = "safegrid.cloud"  # the cloud services' identity in the shipped ACL
FILE_OPTIONS = ("cafile", "certfile", "keyfile", "acl_file", "crlfile")
WAIT_S = 10.0


@dataclass(frozen=True)
class Identity:
    """A client certificate and its key, as files."""

    name: str
    cert: Path
    key: Path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class Pki:
    """All the certificates of a test deployment, written as PEM files under ``directory``."""

    def __init__(self, directory: Path, now: datetime | None = None) -> None:
        self.directory = directory
        self.now = now or datetime.now(UTC)
        directory.mkdir(parents=True, exist_ok=True)
        self.device_ca_key_pem, self.device_ca_pem = ca.generate_ca(now=self.now)
        self.rogue_ca_key_pem, self.rogue_ca_pem = ca.generate_ca(now=self.now)  # same name, another key
        self._infra_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SafeGrid infrastructure CA (test)")])
        self._infra_cert = (
            self._builder(name, self._infra_key.public_key(), issuer=name, days=30)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .sign(self._infra_key, hashes.SHA256()))
        self.device_ca = self._write("device-ca.pem", self.device_ca_pem)
        self.infra_ca = self._write("infra-ca.pem", _cert_pem(self._infra_cert))

    def _write(self, name: str, data: bytes, mode: int = 0o644) -> Path:
        path = self.directory / name
        path.write_bytes(data)
        path.chmod(mode)
        return path

    def _builder(self, subject: x509.Name, public: ec.EllipticCurvePublicKey, *, issuer: x509.Name,
                 days: int = 2) -> x509.CertificateBuilder:
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public)
                .serial_number(x509.random_serial_number()).not_valid_before(self.now - timedelta(minutes=5))
                .not_valid_after(self.now + timedelta(days=days)))

    def _infra_signed(self, cn: str, *, server: bool) -> tuple[bytes, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (self._builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]), key.public_key(),
                                 issuer=self._infra_cert.subject)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(_key_usage(), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                         else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False)
        return _key_pem(key), _cert_pem(builder.sign(self._infra_key, hashes.SHA256()))

    def broker(self) -> tuple[bytes, bytes]:
        """(key PEM, certificate PEM) of the broker: localhost / 127.0.0.1, signed by the infrastructure CA."""
        return self._infra_signed("localhost", server=True)

    def service(self, cn: str = CLOUD_CN) -> Identity:
        """A cloud service's client certificate from the infrastructure CA."""
        key_pem, cert_pem = self._infra_signed(cn, server=False)
        return self._identity(f"service-{cn}", key_pem, cert_pem)

    def gateway(self, gateway_id: str, *, rogue: bool = False) -> Identity:
        """A gateway's client certificate, signed from its CSR as the cloud does at enrolment (by the rogue CA
        if ``rogue``). The CSR asks for another name on purpose: the CA writes the gateway id itself."""
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "asked-for-name")]))
               .sign(key, hashes.SHA256()))
        parsed = ca.parse_csr(csr.public_bytes(serialization.Encoding.PEM).decode("ascii"))
        ca_key_pem, ca_cert_pem = ((self.rogue_ca_key_pem, self.rogue_ca_pem) if rogue
                                   else (self.device_ca_key_pem, self.device_ca_pem))
        cert = ca.sign_gateway_certificate(parsed, gateway_id=gateway_id, ca_key_pem=ca_key_pem,
                                           ca_cert_pem=ca_cert_pem, now=self.now, lifetime=timedelta(days=2))
        return self._identity(f"{'rogue' if rogue else 'gateway'}-{gateway_id}", _key_pem(key), _cert_pem(cert))

    def _identity(self, name: str, key_pem: bytes, cert_pem: bytes) -> Identity:
        return Identity(name, self._write(f"{name}.crt", cert_pem), self._write(f"{name}.key", key_pem, 0o600))


def _key_usage(*, cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not cert_sign, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign,
                         encipher_only=False, decipher_only=False)


def _replace_line(text: str, line: str, new: str) -> str:
    result, count = re.subn(rf"^{re.escape(line)}$", new, text, flags=re.MULTILINE)
    if count != 1:
        raise AssertionError(f"the shipped {SHIPPED_CONF.name} should have the line {line!r} once, has it {count}x")
    return result


def _broker_account() -> pwd.struct_passwd | None:
    """Started as root, Mosquitto drops to the `mosquitto` user (else `nobody`) before it loads certificates."""
    if os.geteuid() != 0:
        return None
    for name in ("mosquitto", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    return None


class SafegridBroker:
    """A Mosquitto running the shipped config: ``gateway_port`` (device CA), ``service_port`` (infra CA)."""

    host = "127.0.0.1"

    def __init__(self, binary: str) -> None:
        self.crl_path: Path | None = None  # the shipped config's crlfile (an empty CRL until write_crl())
        # Not pytest's tmp_path: that lives under a 0700 root-owned directory the mosquitto user cannot enter.
        self.root = Path(tempfile.mkdtemp(prefix="safegrid-mqtt-tls-"))
        try:
            self.root.chmod(0o755)
            self.pki = Pki(self.root / "clients")
            (self.root / "clients").chmod(0o700)  # the clients' keys: for the test process only
            self.etc = self.root / "etc"
            self.gateway_port = free_port(self.host)
            self.service_port = free_port(self.host)
            while self.service_port == self.gateway_port:
                self.service_port = free_port(self.host)
            self.cloud = self.pki.service()
            self.config_text = self._install()
            self.broker = MosquittoBroker(binary, self.root, host=self.host, port=self.gateway_port,
                                          config_text=self.config_text)
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def _install(self) -> str:
        etc = self.etc
        for sub in ("certs", "ca_certificates"):
            (etc / sub).mkdir(parents=True)
        key_pem, cert_pem = self.pki.broker()
        (etc / "certs" / "safegrid-broker.crt").write_bytes(cert_pem)
        (etc / "certs" / "safegrid-broker.key").write_bytes(key_pem)
        (etc / "certs" / "safegrid-broker.key").chmod(0o600)
        (etc / "ca_certificates" / "safegrid-device-ca.pem").write_bytes(self.pki.device_ca_pem)
        shutil.copyfile(self.pki.infra_ca, etc / "ca_certificates" / "safegrid-infra-ca.pem")
        shutil.copyfile(SHIPPED_ACL, etc / "safegrid.acl")
        text = SHIPPED_CONF.read_text()
        text = _replace_line(text, GATEWAY_LISTENER, f"listener {self.gateway_port} {self.host}")
        text = _replace_line(text, SERVICE_LISTENER, f"listener {self.service_port} {self.host}")
        text = text.replace(SHIPPED_ETC, f"{etc}/")
        # The shipped config enables the CRL: the rig writes an empty one (write_crl() changes it).
        path = re.findall(r"^crlfile\s+(\S+)$", text, flags=re.MULTILINE)
        if len(path) != 1:
            raise AssertionError(f"the shipped {SHIPPED_CONF.name} should have one 'crlfile' line")
        self.crl_path = Path(path[0])
        self.write_crl([])
        for option, value in re.findall(rf"^({'|'.join(FILE_OPTIONS)})\s+(\S+)", text, flags=re.MULTILINE):
            if not Path(value).is_file():
                raise AssertionError(f"the shipped config's {option} {value} is not a file this test makes")
        account = _broker_account()
        if account is not None:
            for path in (etc, *etc.rglob("*")):
                os.chown(path, account.pw_uid, account.pw_gid)
        # The log goes to stderr, which the rig writes to its log file (shown when a test fails).
        return text + "\n# added by the test rig\nlog_dest stderr\nlog_type all\nconnection_messages true\n"

    def write_crl(self, revoked: list[x509.Certificate], *, now: datetime | None = None) -> None:
        """The device CA's CRL as the cloud makes it (``/api/v1/ca/crl.pem``), issued at ``now``; valid 1 day."""
        if self.crl_path is None:
            raise RuntimeError("the broker is not installed yet")
        now = now or self.pki.now
        self.crl_path.write_bytes(ca.build_crl([(cert.serial_number, now) for cert in revoked],
                                               ca_key_pem=self.pki.device_ca_key_pem,
                                               ca_cert_pem=self.pki.device_ca_pem, now=now))
        self.crl_path.chmod(0o644)

    def reload(self) -> None:
        """SIGHUP, as `systemctl reload mosquitto` does; returns once the broker has logged the reload."""
        before = self.log_tail(10_000).count("Reloading config.")
        assert self.broker.pid is not None, "the broker is not running"
        os.kill(self.broker.pid, signal.SIGHUP)
        wait_until(lambda: self.log_tail(10_000).count("Reloading config.") > before, WAIT_S, "the broker's reload")

    def start(self) -> None:
        self.broker.start()
        pid = self.broker.pid
        wait_until(lambda: pid is not None and is_listening(self.host, self.service_port, pid), WAIT_S,
                   f"mosquitto's service listener on {self.service_port}\n{self.log_tail()}")

    def stop(self) -> None:
        self.broker.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def pids(self) -> set[int]:
        return self.broker.pids()

    def log_tail(self, lines: int = 60) -> str:
        return self.broker.log_tail(lines)

    def tls_context(self, identity: Identity | None) -> ssl.SSLContext:
        """What a client of this broker uses: the infrastructure CA for the server, ``identity`` as itself."""
        context = ssl.create_default_context(cafile=str(self.pki.infra_ca))
        if identity is not None:
            context.load_cert_chain(str(identity.cert), str(identity.key))
        return context

    def client(self, identity: Identity | None, *, port: int | None = None, client_id: str | None = None) -> Probe:
        """A probe connected (or refused) as ``identity`` on the gateways' port unless ``port`` says otherwise."""
        name = identity.name if identity is not None else "no-certificate"
        return Probe(self.host, port or self.gateway_port, self.tls_context(identity), client_id or name)


@contextlib.contextmanager
def safegrid_broker(binary: str) -> Iterator[SafegridBroker]:
    broker = SafegridBroker(binary)
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()


class Probe:
    """A paho MQTT 5 client over TLS that never reconnects by itself, recording what the broker did to it.

    ``connect()`` returns whether the broker accepted the connection; a refused TLS handshake (no certificate,
    an untrusted one) ends either in the handshake or right after it (TLS 1.3 checks the client certificate
    after the client's side of the handshake is done), so both count as refused."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext, client_id: str) -> None:
        self.host = host
        self.port = port
        self.client_id = client_id
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.disconnects: queue.Queue[str] = queue.Queue()
        self.refused: str | None = None
        self._connack: queue.Queue[str | None] = queue.Queue()
        self._subacks: dict[int, list[str]] = {}
        self._pubacks: dict[int, str] = {}
        self._lock = threading.Lock()
        self._acked = threading.Condition(self._lock)
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5,
                                   reconnect_on_failure=False)
        self._client.tls_set_context(context)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = lambda _c, _u, m: self.messages.put((m.topic, bytes(m.payload)))
        self._client.on_subscribe = self._on_subscribe
        self._client.on_publish = self._on_publish
        self._started = False

    def _on_connect(self, _c: paho.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        self._connack.put(str(reason) if getattr(reason, "is_failure", False) else None)

    def _on_disconnect(self, _c: paho.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        self.disconnects.put(str(reason))
        self._connack.put(f"disconnected: {reason}")

    def _on_subscribe(self, _c: paho.Client, _u: object, mid: int, reasons: list[object], _p: object) -> None:
        with self._acked:
            self._subacks[mid] = [str(r) for r in reasons]
            self._acked.notify_all()

    def _on_publish(self, _c: paho.Client, _u: object, mid: int, reason: object, _p: object) -> None:
        with self._acked:
            self._pubacks[mid] = str(reason)
            self._acked.notify_all()

    def connect(self) -> bool:
        try:
            self._client.connect(self.host, self.port, keepalive=10)
        except (OSError, ssl.SSLError) as exc:  # the broker refused the handshake
            self.refused = f"{type(exc).__name__}: {exc}"
            return False
        self._client.loop_start()
        self._started = True
        try:
            outcome = self._connack.get(timeout=WAIT_S)
        except queue.Empty:
            outcome = "no CONNACK"
        self.refused = outcome
        return outcome is None

    def subscribe(self, topic: str) -> list[str]:
        """The SUBACK's reason codes (``Granted QoS 1`` or a refusal)."""
        _rc, mid = self._client.subscribe(topic, qos=1)
        with self._acked:
            if not self._acked.wait_for(lambda: mid in self._subacks, WAIT_S):
                raise AssertionError(f"{self.client_id}: no SUBACK for {topic}")
            return self._subacks.pop(mid)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> str:
        """Publish at QoS 1 and return the PUBACK's reason (``Success`` or e.g. ``Not authorized``)."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        with self._acked:
            if not self._acked.wait_for(lambda: info.mid in self._pubacks, WAIT_S):
                raise AssertionError(f"{self.client_id}: no PUBACK for {topic}")
            return self._pubacks.pop(info.mid)

    def next_message(self, timeout: float = WAIT_S) -> tuple[str, bytes]:
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        self._client.disconnect()
        if self._started:
            self._client.loop_stop()
        self._client._reset_sockets()  # paho keeps its wake-up socket pair open until garbage collection
