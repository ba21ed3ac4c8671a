"""The downlink queue: counters that never repeat across concurrent workers, expiry, channels, the poll,
and the MQTT publisher on a real broker keeping each gateway's counter order."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from cloud.db.engine import Database
from cloud.downlink.counters import next_value
from cloud.downlink.models import DownlinkCommand
from cloud.downlink.mqtt import BrokerSettings, MqttPublisher, PublishError
from cloud.downlink.publisher import publish_pending
from cloud.downlink.service import enqueue_command, pending_for_poll
from cloud.errors import InvalidInput, NotFound
from cloud.keys.service import Keyring, KeyStore, install, keys_dir
from cloud.settings import CloudSettings
from fwsim.rig.mosquitto import MosquittoBroker
from protocols import topics
from protocols.commands import verify_command
from tests.cloud.conftest import Clock
from tests.cloud.permits.site import Site, Subscriber

TIME = {"time_ms": 1}


@pytest.fixture
def store(settings: CloudSettings, keyring: Keyring) -> KeyStore:
    return install(KeyStore(keys_dir(settings.data_dir)))


def test_counters_never_repeat_across_concurrent_workers(database: Database, site: Site, store: KeyStore,
                                                         clock: Clock) -> None:
    got: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            for _ in range(8):
                with database.session(write=True) as db:
                    enqueue_command(db, gateway_id="gw-e1", kind="time", body=TIME, now=clock.now)
                    counter = next_value(db, "probe")
                    db.commit()
                with lock:
                    got.append(counter)
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(got) == list(range(1, 33))
    with database.session(write=False) as db:
        counters = sorted(c.counter for c in db.query(DownlinkCommand).all())
    assert counters == list(range(1, 33))


def test_poll_expiry_and_channels(database: Database, site: Site, store: KeyStore, clock: Clock) -> None:
    with database.session(write=True) as db:
        first = enqueue_command(db, gateway_id="gw-e1", kind="time", body=TIME, now=clock.now)
        enqueue_command(db, gateway_id="gw-e1", kind="config", body={"version": 1, "settings": {}}, now=clock.now,
                        ttl=timedelta(hours=2))
        enqueue_command(db, gateway_id="gw-e2", kind="time", body=TIME, now=clock.now)
        ack = enqueue_command(db, gateway_id="gw-e1", kind="ack", channel="ack", now=clock.now,
                              body={"v": 1, "gateway": "gw-e1", "epoch": 1, "watermark": 5})
        with pytest.raises(NotFound):
            enqueue_command(db, gateway_id="gw-none", kind="time", body=TIME, now=clock.now)
        with pytest.raises(InvalidInput):
            enqueue_command(db, gateway_id="gw-e1", kind="time", body={"time_ms": -1}, now=clock.now)
        with pytest.raises(InvalidInput):
            enqueue_command(db, gateway_id="gw-e1", kind="ack", body={"v": 1, "gateway": "gw-e1", "epoch": 1,
                                                                      "watermark": 5}, now=clock.now)
        db.commit()
    keys = {store.keyring().command.kid: store.keyring().command.public}
    now_ms = int(clock.now.timestamp() * 1000)
    assert verify_command(ack, keys, gateway_id="gw-e1", last_counter=0, now_ms=now_ms, channel="ack").kind == "ack"
    with database.session(write=False) as db:
        polled = pending_for_poll(db, gateway_id="gw-e1", after=0, now=clock.now)
        assert polled[0] == first and len(polled) == 2  # the ack is not queued for the poll
        assert [verify_command(p, keys, gateway_id="gw-e1", last_counter=0, now_ms=now_ms).kind
                for p in polled] == ["time", "config"]
        assert len(pending_for_poll(db, gateway_id="gw-e1", after=1, now=clock.now)) == 1
        # The time command lives 60 s; the config 2 h.
        assert len(pending_for_poll(db, gateway_id="gw-e1", after=0, now=clock.now + timedelta(seconds=61))) == 1


def test_publisher_keeps_counter_order_and_publishes_once(database: Database, site: Site, store: KeyStore,
                                                          clock: Clock, mosquitto: MosquittoBroker) -> None:
    with database.session(write=True) as db:
        for _ in range(5):
            enqueue_command(db, gateway_id="gw-e1", kind="time", body=TIME, now=clock.now)
        enqueue_command(db, gateway_id="gw-e2", kind="time", body=TIME, now=clock.now)
        db.commit()
    gw = Subscriber(mosquitto, topics.downlink_topic("gw-e1"), client_id="gw-e1-sub")
    try:
        with MqttPublisher(BrokerSettings(host=mosquitto.host, port=mosquitto.port, client_id="pub-a")) as pub:
            assert publish_pending(database, pub, now=clock.now) == 6
            assert publish_pending(database, pub, now=clock.now) == 0
        keys = {store.keyring().command.kid: store.keyring().command.public}
        last = 0
        for _ in range(5):
            command = verify_command(gw.next(), keys, gateway_id="gw-e1", last_counter=last,
                                     now_ms=int(clock.now.timestamp() * 1000))
            last = command.counter
        assert last == 5
    finally:
        gw.close()


def test_an_unreachable_broker_is_a_publish_error(mosquitto_fresh: object) -> None:
    broker = mosquitto_fresh()  # type: ignore[operator]
    port = broker.port
    broker.stop()
    with pytest.raises(PublishError):
        MqttPublisher(BrokerSettings(host="127.0.0.1", port=port, client_id="nobody", timeout_s=2)).connect()
