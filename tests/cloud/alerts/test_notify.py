"""Alert notifications: each event POSTed to the webhooks (HMAC-signed when a secret is set) and published on
the alerts MQTT topic of the real broker; a failed delivery is retried later, a delivered one never again."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from cloud.alerts.models import AlertEvent
from cloud.alerts.notify import SIGNATURE_HEADER, Notifier
from cloud.alerts.settings import AlertSettings, WebhookSettings
from cloud.db.engine import Database
from cloud.ingest.service import Sender, ingest_batch
from cloud.telemetry.sink import SqlSink
from fwsim.rig.mosquitto import MosquittoBroker
from fwsim.stage.world import World
from tests.cloud.conftest import Clock
from tests.cloud.ingest.helpers import alarm, batch


class Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers), body))  # type: ignore[attr-defined]
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    server.received = []  # type: ignore[attr-defined]
    server.status = 200  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="webhook")
    thread.start()
    yield server
    server.shutdown()
    thread.join(10)
    server.server_close()


class Subscriber:
    def __init__(self, broker: MosquittoBroker, topic: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._ready = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="alert-subscriber", protocol=paho.MQTTv5)
        self.client.on_connect = lambda c, *_a: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_a: self._ready.set()
        self.client.on_message = lambda _c, _u, m: self.messages.append((m.topic, bytes(m.payload)))
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self._ready.wait(20)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Publisher:
    def __init__(self, broker: MosquittoBroker) -> None:
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="alert-publisher", protocol=paho.MQTTv5)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def __call__(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def raise_alarm(database: Database, world: World, now: Any, seq: int, alarm_id: str) -> None:
    with database.session(write=True) as db:
        ingest_batch(db, sender=Sender("gw-e1", world["E1"]), envelope=batch("gw-e1", [alarm(seq, alarm_id)]),
                     sink=SqlSink(), now=now)
        db.commit()


def test_events_go_to_webhooks_and_the_mqtt_topic_once(database: Database, world: World, tokens: dict[str, str],
                                                       clock: Clock, webhook: ThreadingHTTPServer,
                                                       mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    secret = tmp_path / "hook.key"
    secret.write_text("webhook-secret\n")
    host, port = webhook.server_address[:2]
    settings = AlertSettings(webhooks=[WebhookSettings(url=f"http://{host}:{port}/hook", secret_file=secret),
                                       WebhookSettings(url=f"http://{host}:{port}/plain")],
                             max_delivery_attempts=3, mqtt_notify=True)
    subscriber = Subscriber(mosquitto, f"{settings.mqtt_topic_prefix}/{world['D1']}/+")
    publisher = Publisher(mosquitto)
    notifier = Notifier(settings, publish=publisher)
    try:
        raise_alarm(database, world, clock.now, 1, "a1")
        webhook.status = 500  # type: ignore[attr-defined]  # the receiver is down: not delivered, tried again
        assert notifier.deliver_pending(database) == 0
        webhook.status = 200  # type: ignore[attr-defined]
        assert notifier.deliver_pending(database) == 1
        assert notifier.deliver_pending(database) == 0  # nothing twice
        deadline = time.monotonic() + 10
        while len(subscriber.messages) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        notifier.close()
        publisher.close()
        subscriber.close()
    received = webhook.received  # type: ignore[attr-defined]
    assert len(received) == 4  # two hooks, two attempts
    headers, body = received[2]
    payload = json.loads(body)
    assert (payload["event"], payload["alert"]["alarm_id"], payload["alert"]["state"]) == ("raised", "a1", "raised")
    expected = "sha256=" + hmac.new(b"webhook-secret", body, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == expected
    assert SIGNATURE_HEADER not in received[3][0]
    topic, mqtt_body = subscriber.messages[-1]
    assert topic == f"safegrid/v1/alerts/{world['D1']}/{world['E1']}"
    assert json.loads(mqtt_body)["event_id"] == payload["event_id"]
    with database.session(write=False) as db:
        event = db.execute(select(AlertEvent)).scalar_one()
        assert (event.delivered, event.attempts) == (True, 2)


def test_an_undeliverable_event_is_given_up_after_the_attempts(database: Database, world: World,
                                                               tokens: dict[str, str], clock: Clock,
                                                               webhook: ThreadingHTTPServer) -> None:
    webhook.status = 503  # type: ignore[attr-defined]
    host, port = webhook.server_address[:2]
    notifier = Notifier(AlertSettings(webhooks=[WebhookSettings(url=f"http://{host}:{port}/")],
                                      max_delivery_attempts=2, mqtt_notify=False))
    try:
        raise_alarm(database, world, clock.now, 1, "a1")
        assert notifier.deliver_pending(database) == 0
        assert notifier.deliver_pending(database) == 1  # given up, marked done
        assert notifier.deliver_pending(database) == 0
    finally:
        notifier.close()
    assert len(webhook.received) == 2  # type: ignore[attr-defined]
