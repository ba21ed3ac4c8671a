"""The shipped broker config (config/mosquitto/safegrid.conf and safegrid.acl) on a real Mosquitto 2.

- a gateway, known by the CN of its certificate, publishes and reads only under its own gateway id, and
  cannot throw another gateway off by using its client id;
- the cloud services' identity reads the ingest shared subscription and the status topics and publishes acks,
  commands and alerts, but cannot publish batches as a gateway;
- no certificate, an untrusted one, or a certificate of the other listener's CA: the connection is refused;
- with the shipped ``crlfile`` (enabled), a revoked gateway certificate is refused after a reload, and a
  stale CRL refuses every gateway (why the shipped timer refreshes it hourly).
"""

from __future__ import annotations

import queue
import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from cryptography import x509

from fwsim.rig.processes import wait_until
from protocols import topics
from protocols.uplink.fields import GATEWAY_ID_RE
from tests.rig.availability import require_binary
from tests.rig.mqtt_tls import CLOUD_CN, SHIPPED_ACL, Identity, Probe, SafegridBroker, safegrid_broker

pytestmark = pytest.mark.mosquitto

SETTLE_S = 0.5  # after a message that must arrive has arrived, how long a forbidden one gets to show up anyway
DENIED = "Not authorized"


@pytest.fixture
def broker() -> Iterator[SafegridBroker]:
    with safegrid_broker(require_binary("mosquitto", "mosquitto")) as running:
        yield running


@pytest.fixture
def connect(broker: SafegridBroker) -> Iterator[Callable[..., Probe]]:
    """``connect(identity, port=…, client_id=…)``: a probe that must be accepted; all are closed at the end."""
    probes: list[Probe] = []

    def open_probe(identity: Identity | None, *, port: int | None = None, client_id: str | None = None) -> Probe:
        probe = broker.client(identity, port=port, client_id=client_id)
        probes.append(probe)
        assert probe.connect(), f"{probe.client_id} refused: {probe.refused}\n{broker.log_tail()}"
        return probe

    yield open_probe
    for probe in probes:
        probe.close()


def drain(probe: Probe) -> list[tuple[str, bytes]]:
    out = []
    while True:
        try:
            out.append(probe.messages.get(timeout=SETTLE_S))
        except queue.Empty:
            return out


def test_a_gateway_publishes_only_under_its_own_id(broker: SafegridBroker, connect: Callable[..., Probe]) -> None:
    cloud = connect(broker.cloud, port=broker.service_port, client_id="ingest-1")
    assert cloud.subscribe(topics.INGEST_SHARED_SUBSCRIPTION) == ["Granted QoS 1"]
    assert cloud.subscribe(topics.STATUS_SUBSCRIPTION) == ["Granted QoS 1"]
    gw_a = connect(broker.pki.gateway("gw-a"))
    gw_b = connect(broker.pki.gateway("gw-b"))

    # gw-b tries gw-a's batch and status topics: the broker says no and delivers nothing …
    assert gw_b.publish(topics.uplink_topic("gw-a"), b"forged batch") == DENIED
    assert gw_b.publish(topics.status_topic("gw-a"), b"forged offline", retain=True) == DENIED
    # … and takes what gw-b may send: its own topics. Messages of one connection are delivered in order, so
    # anything forged would have arrived before these.
    assert gw_b.publish(topics.uplink_topic("gw-b"), b"batch of gw-b") == "Success"
    assert cloud.next_message() == (topics.uplink_topic("gw-b"), b"batch of gw-b")
    assert gw_a.publish(topics.uplink_topic("gw-a"), b"batch of gw-a") == "Success"
    assert gw_a.publish(topics.status_topic("gw-a"), b"online", retain=True) == "Success"
    assert cloud.next_message() == (topics.uplink_topic("gw-a"), b"batch of gw-a")
    assert cloud.next_message() == (topics.status_topic("gw-a"), b"online")
    assert drain(cloud) == []

    # Gateways never publish commands or acks, not even their own: only the cloud does.
    assert gw_a.publish(topics.ack_topic("gw-a"), b"forged ack") == DENIED
    assert gw_a.publish(topics.downlink_topic("gw-a"), b"forged command") == DENIED
    # The forged retained status was not kept either: a new subscriber sees gw-a's own.
    late = connect(broker.cloud, port=broker.service_port, client_id="status-watcher")
    late.subscribe(topics.status_topic("gw-a"))
    assert late.next_message() == (topics.status_topic("gw-a"), b"online")
    assert drain(late) == []


def test_a_gateway_reads_only_its_own_commands_and_acks(broker: SafegridBroker,
                                                        connect: Callable[..., Probe]) -> None:
    cloud = connect(broker.cloud, port=broker.service_port, client_id="downlink-1")
    gw_a = connect(broker.pki.gateway("gw-a"))
    gw_b = connect(broker.pki.gateway("gw-b"))
    for topic in topics.gateway_subscriptions("gw-a"):
        gw_a.subscribe(topic)
    # gw-b asks for gw-a's channels and for everything; Mosquitto 2.0 grants the subscriptions and filters
    # each message by the read ACL.
    for topic in [*topics.gateway_subscriptions("gw-a"), f"{topics.ROOT}/+/ack", "#"]:
        gw_b.subscribe(topic)

    for gateway in ("gw-a", "gw-b"):
        assert cloud.publish(topics.ack_topic(gateway), f"ack for {gateway}".encode()) == "Success"
        assert cloud.publish(topics.downlink_topic(gateway), f"command for {gateway}".encode()) == "Success"
    assert cloud.publish("safegrid/v1/alerts/7/42", b"alert") == "Success"
    # The cloud cannot speak for a gateway.
    assert cloud.publish(topics.uplink_topic("gw-a"), b"forged batch") == DENIED
    assert cloud.publish(topics.status_topic("gw-a"), b"forged status") == DENIED

    assert gw_a.next_message() == (topics.ack_topic("gw-a"), b"ack for gw-a")
    assert gw_a.next_message() == (topics.downlink_topic("gw-a"), b"command for gw-a")
    assert drain(gw_a) == []
    # gw-a's messages were published first, so had gw-b been given any, they would have come before its own.
    assert gw_b.next_message() == (topics.ack_topic("gw-b"), b"ack for gw-b")
    assert set(drain(gw_b)) == {(topics.ack_topic("gw-b"), b"ack for gw-b"),  # again: '+/ack' and '#' overlap
                                (topics.downlink_topic("gw-b"), b"command for gw-b")}


def test_a_gateway_cannot_take_over_another_gateways_client_id(broker: SafegridBroker,
                                                               connect: Callable[..., Probe]) -> None:
    cloud = connect(broker.cloud, port=broker.service_port, client_id="cloud-1")
    cloud.subscribe(topics.INGEST_SHARED_SUBSCRIPTION)
    gw_a = connect(broker.pki.gateway("gw-a"))
    gw_a.subscribe(topics.downlink_topic("gw-a"))
    # gw-b connects as client id "gw-a": the broker names the connection after the certificate (gw-b) …
    intruder = connect(broker.pki.gateway("gw-b"), client_id="gw-a")
    assert intruder.publish(topics.uplink_topic("gw-b"), b"batch of gw-b") == "Success"
    assert cloud.next_message() == (topics.uplink_topic("gw-b"), b"batch of gw-b")
    # … so gw-a is still connected and still gets its commands, on the connection it opened.
    assert cloud.publish(topics.downlink_topic("gw-a"), b"command") == "Success"
    assert gw_a.next_message() == (topics.downlink_topic("gw-a"), b"command")
    assert gw_a.disconnects.empty()
    # Control: gw-a's own certificate under any client id does replace gw-a's connection.
    connect(broker.pki.gateway("gw-a"), client_id="anything")
    gw_a.disconnects.get(timeout=10)


@pytest.mark.parametrize(("who", "listener"), [
    ("no certificate", "gateway"),
    ("no certificate", "service"),
    ("rogue gw-a", "gateway"),  # CN gw-a from a CA of the same name as the device CA, but another key
    ("rogue gw-a", "service"),
    ("gateway gw-a", "service"),  # the services' listener trusts only the infrastructure CA …
    ("cloud service", "gateway"),  # … and the gateways' listener only the device CA
])
def test_a_client_without_a_certificate_of_the_listeners_ca_is_refused(broker: SafegridBroker,
                                                                        connect: Callable[..., Probe], who: str,
                                                                        listener: str) -> None:
    port = broker.gateway_port if listener == "gateway" else broker.service_port
    # Control: the listener takes its own kind of client.
    connect(broker.pki.gateway("gw-c") if listener == "gateway" else broker.cloud, port=port, client_id="control")
    identity = {"no certificate": None, "rogue gw-a": broker.pki.gateway("gw-a", rogue=True),
                "gateway gw-a": broker.pki.gateway("gw-a"), "cloud service": broker.cloud}[who]
    probe = broker.client(identity, port=port, client_id="intruder")
    try:
        assert not probe.connect(), f"{who} was let in on the {listener} listener"
    finally:
        probe.close()
    # The broker refused it for the reason under test (not, say, because it was gone).
    reason = "peer did not return a certificate" if identity is None else "certificate verify failed"
    wait_until(lambda: reason in broker.log_tail(200), 10, f"{reason!r} in the broker log\n{broker.log_tail()}")


def test_no_gateway_can_be_named_like_a_service_identity() -> None:
    """The ACL's per-user grants go to service identities; enrolment only signs CNs that are gateway ids."""
    users = re.findall(r"^user\s+(\S+)\s*$", SHIPPED_ACL.read_text(), flags=re.MULTILINE)
    assert CLOUD_CN in users
    assert [user for user in users if GATEWAY_ID_RE.fullmatch(user)] == []


def test_with_the_crlfile_enabled_a_revoked_gateway_is_refused_after_a_reload() -> None:
    """The ``crlfile`` of safegrid.conf as shipped, and what docs/operations.md warns of (a stale CRL)."""
    with safegrid_broker(require_binary("mosquitto", "mosquitto")) as broker:
        revoked, other = broker.pki.gateway("gw-a"), broker.pki.gateway("gw-b")
        assert _admitted(broker, revoked, "first")
        broker.write_crl([x509.load_pem_x509_certificate(revoked.cert.read_bytes())])
        broker.reload()
        assert not _admitted(broker, revoked, "after-revocation")
        assert _admitted(broker, other, "other")
        # A CRL past its next update (issued three days ago, valid one day) shuts every gateway out.
        broker.write_crl([], now=broker.pki.now - timedelta(days=3))
        broker.reload()
        assert not _admitted(broker, other, "stale-crl")


def _admitted(broker: SafegridBroker, identity: Identity, client_id: str) -> bool:
    probe = broker.client(identity, client_id=client_id)
    try:
        return probe.connect()
    finally:
        probe.close()
