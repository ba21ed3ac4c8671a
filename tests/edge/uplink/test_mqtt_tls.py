"""The MQTT uplink through the shipped broker config (config/mosquitto/): TLS with the gateway's certificate.

- the uplink connects with the certificate the cloud CA signed from its CSR (MQTT 5, persistent session, the
  certificate's CN as its username), its batches reach the cloud on the ingest shared subscription and the
  cloud's signed acks come back on its ack topic; its retained status says online;
- with a certificate from another CA, or with none, the broker never lets it in.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as paho
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.downlink import CommandGate
from edge.outbox import Outbox
from edge.uplink import BatchConfig, MqttConfig, Sender
from edge.uplink.config import TlsConfig
from edge.uplink.mqtt import MqttUplink
from fwsim.stage.receiver import AckingReceiver
from protocols import topics
from protocols.uplink import decode_status
from tests.edge.uplink.conftest import BASE_MS, GATEWAY, append_records
from tests.rig.availability import require_binary
from tests.rig.mqtt_tls import SafegridBroker, safegrid_broker
from tests.rig.waiting import eventually

pytestmark = pytest.mark.mosquitto

FAST = BatchConfig(max_records=100, max_linger_s=0.02, ack_timeout_s=5.0, window=4, backoff_initial_s=0.05,
                   backoff_max_s=0.5)


@pytest.fixture
def broker() -> Iterator[SafegridBroker]:
    with safegrid_broker(require_binary("mosquitto", "mosquitto")) as running:
        yield running


class CloudIngest(AckingReceiver):
    """The test cloud as the cloud services' identity: TLS on the service listener, the ingest shared
    subscription (what ``safegrid-cloud ingest-mqtt`` subscribes to), acks on the gateway's ack topic."""

    def __init__(self, broker: SafegridBroker, key: Ed25519PrivateKey) -> None:
        super().__init__(broker.host, broker.service_port, key)
        self._client.tls_set_context(broker.tls_context(broker.cloud))

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if not reason_code.is_failure:
            client.subscribe(topics.INGEST_SHARED_SUBSCRIPTION, qos=topics.QOS)
            self._subscribed.set()


def uplink_config(broker: SafegridBroker, tls: TlsConfig) -> MqttConfig:
    return MqttConfig(host=broker.host, port=broker.gateway_port, tls=tls, keepalive_s=5,
                      reconnect_initial_s=0.05, reconnect_max_s=0.5)


async def test_the_uplink_connects_with_its_certificate_and_its_batches_are_acked(
        broker: SafegridBroker, cloud_key: Ed25519PrivateKey, outbox: Outbox, gate: CommandGate) -> None:
    identity = broker.pki.gateway(GATEWAY)
    tls = TlsConfig(ca_file=broker.pki.infra_ca, cert_file=identity.cert, key_file=identity.key)
    ingest = CloudIngest(broker, cloud_key)
    ingest.start()
    watcher = broker.client(broker.cloud, port=broker.service_port, client_id="status-watcher")
    try:
        assert watcher.connect(), watcher.refused
        watcher.subscribe(topics.status_topic(GATEWAY))
        uplink = MqttUplink(uplink_config(broker, tls), gateway=GATEWAY, verify_ack=gate.verify_ack,
                            epoch=outbox.epoch, software="test")
        sender = Sender(outbox, uplink, FAST)
        async with uplink:
            await asyncio.wait_for(uplink.wait_connected(), 10)
            sender.start()
            try:
                await append_records(outbox, 1, 250)
                sender.notify()
                await asyncio.wait_for(sender.wait_acked(250), 30)
            finally:
                await sender.stop()
            await eventually(lambda: not watcher.messages.empty(), timeout_s=10, every_s=0.02)
            topic, payload = watcher.messages.get_nowait()
    finally:
        watcher.close()
        ingest.stop()
    status = decode_status(payload)
    assert (topic, status.gateway, status.online) == (topics.status_topic(GATEWAY), GATEWAY, True)
    stream = ingest.stream(GATEWAY, outbox.epoch)
    assert stream.watermark == 250
    assert sorted(stream.records) == list(range(1, 251))
    assert all(stream.records[seq].at_ms == BASE_MS + seq for seq in stream.records)
    assert gate.rejected == {}
    assert await outbox.pending(10) == []
    # MQTT 5 (p5), a persistent session (c0: no clean start), the certificate's CN as the username.
    assert re.search(rf"as {GATEWAY} \(p5, c0, k5, u'{GATEWAY}'\)", broker.log_tail(400)), broker.log_tail()


@pytest.mark.parametrize("who", ["certificate of another CA", "no certificate"])
async def test_an_uplink_without_a_certificate_of_the_device_ca_never_gets_in(
        broker: SafegridBroker, outbox: Outbox, gate: CommandGate, who: str) -> None:
    if who == "no certificate":
        tls = TlsConfig(ca_file=broker.pki.infra_ca)
        refusal = "peer did not return a certificate"
    else:
        rogue = broker.pki.gateway(GATEWAY, rogue=True)  # the right CN, from a CA named like the device CA
        tls = TlsConfig(ca_file=broker.pki.infra_ca, cert_file=rogue.cert, key_file=rogue.key)
        refusal = "certificate verify failed"
    uplink = MqttUplink(uplink_config(broker, tls), gateway=GATEWAY, verify_ack=gate.verify_ack,
                        epoch=outbox.epoch)
    async with uplink:
        # It keeps trying (reconnecting with backoff) and the broker refuses every attempt.
        await eventually(lambda: broker.log_tail(400).count(refusal) >= 3, timeout_s=20, every_s=0.05)
        assert uplink.connects == 0
        assert not uplink.connected
    assert f"u'{GATEWAY}'" not in broker.log_tail(400)
