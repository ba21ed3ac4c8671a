"""A batch is bound to the certificate that sent it: the real ``safegrid-cloud ingest-mqtt`` worker behind the
shipped broker config (config/mosquitto/), connected with the cloud services' client certificate.

The broker's ACL lets a gateway publish only on the topics of its certificate's CN; the worker takes the
gateway from the topic and refuses a batch whose envelope names another one (``wrong_gateway``). Together: a
batch is stored for a gateway only if that gateway's certificate sent it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud.db.engine import Database
from cloud.keys.service import KeyStore
from cloud.settings import CloudSettings
from fwsim.stage.world import World
from protocols import topics
from protocols.commands import AckCommand, verify_command
from tests.cloud.conftest import Clock
from tests.cloud.ingest.helpers import add_gateway, batch_bytes, stored_seqs, telemetry
from tests.cloud.ingest.mqtt_rig import Worker, wait_for, write_config
from tests.rig.availability import require_binary
from tests.rig.mqtt_tls import Probe, SafegridBroker, safegrid_broker

pytestmark = pytest.mark.mosquitto


@pytest.fixture
def broker() -> Iterator[SafegridBroker]:
    with safegrid_broker(require_binary("mosquitto", "mosquitto")) as running:
        yield running


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the database is not what this test is about
def test_a_batch_is_stored_only_for_the_gateway_whose_certificate_sent_it(
        database: Database, world: World, clock: Clock, keystore: KeyStore, settings: CloudSettings,
        broker: SafegridBroker, tmp_path: Path) -> None:
    for name in ("gw-a", "gw-b"):
        add_gateway(database, gateway_id=name, enterprise_id=world["E1"], now=clock.now)
    config = write_config(tmp_path / "ingest.toml", data_dir=settings.data_dir, db_url=settings.database_url(),
                          host=broker.host, port=broker.service_port)
    with config.open("a") as out:
        out.write(f'[ingest.mqtt.tls]\nca_file = "{broker.pki.infra_ca}"\ncert_file = "{broker.cloud.cert}"\n'
                  f'key_file = "{broker.cloud.key}"\n')
    worker = Worker(config, tmp_path / "worker.log", "ingest-tls")
    probes: list[Probe] = []
    try:
        worker.wait_subscribed()
        for name in ("gw-a", "gw-b"):
            probe = broker.client(broker.pki.gateway(name))
            probes.append(probe)
            assert probe.connect(), probe.refused
            probe.subscribe(topics.ack_topic(name))
        gw_a, gw_b = probes

        # gw-b, on its own topic, sends a batch that says it is gw-a's: the worker refuses it.
        assert gw_b.publish(topics.uplink_topic("gw-b"), batch_bytes("gw-a", [telemetry(1, h2s=99.0)])) == "Success"
        wait_for(lambda: _refusals(worker) != [], 60, "the worker to refuse the batch")
        assert _refusals(worker) == [("wrong_gateway", topics.uplink_topic("gw-b"))]
        # gw-b, on gw-a's topic: the broker refuses it, the worker never sees it.
        assert gw_b.publish(topics.uplink_topic("gw-a"), batch_bytes("gw-a", [telemetry(2, h2s=99.0)])) == \
            "Not authorized"

        # gw-a's own batch is stored and acknowledged to gw-a.
        assert gw_a.publish(topics.uplink_topic("gw-a"), batch_bytes("gw-a", [telemetry(s) for s in (1, 2, 3)])) == \
            "Success"
        topic, payload = gw_a.next_message(timeout=60)
        keys = keystore.keyring().command_keys(now=clock.now)
        ack = verify_command(payload, keys, gateway_id="gw-a", last_counter=0, now_ms=int(time.time() * 1000),
                             channel="ack")
        assert topic == topics.ack_topic("gw-a")
        assert isinstance(ack, AckCommand) and ack.body.watermark == 3
    finally:
        for probe in probes:
            probe.close()
        stored = worker.stop()
    assert stored == 3, worker.log_path.read_text()[-3000:]
    assert stored_seqs(database, "gw-a") == [1, 2, 3]
    assert stored_seqs(database, "gw-b") == []
    assert _refusals(worker) == [("wrong_gateway", topics.uplink_topic("gw-b"))]
    assert gw_b.messages.empty()  # no ack for a batch that was not stored


def _refusals(worker: Worker) -> list[tuple[object, object]]:
    return [(e.get("code"), e.get("topic")) for e in worker.events() if e.get("event") == "ingest_batch_refused"]
