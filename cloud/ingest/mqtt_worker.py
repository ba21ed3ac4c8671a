"""The MQTT door of ingestion: one worker process on the shared subscription ``$share/ingest/…/+/up``.

paho's network thread only queues what arrives; this worker's own thread (with its own database sessions)
takes what is queued, groups it per (gateway, epoch), stores each group in one transaction in seq order —
never in arrival order, a shared subscription does not keep one gateway's order — commits, publishes the
signed ack on the gateway's ack topic, and only then sends the broker its PUBACK (manual acks). A worker killed
at any point loses nothing: what it did not commit is not acknowledged, and the gateway sends it again.

The worker holds no state between batches, so any number of them share the subscription. The periodic alert
rules and notification delivery are not its job: they run in the rules worker (``cloud.alerts.worker``), which
every deployment runs, whichever door its gateways use.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import paho.mqtt.client as paho
import structlog
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy.exc import OperationalError

from cloud.broker import MqttSettings, broker_client
from cloud.db.engine import Database
from cloud.devices.models import Gateway, GatewayStatus
from cloud.downlink.service import enqueue_command
from cloud.errors import CloudError
from cloud.ingest.doors import batch_error, sender_for
from cloud.ingest.service import ingest_batch
from cloud.keys.service import KeyStore
from cloud.settings import CloudSettings
from cloud.telemetry.sink import TelemetrySink
from protocols import topics
from protocols.commands import ACK_CHANNEL
from protocols.errors import EnvelopeError
from protocols.uplink import Ack, Envelope, decode_envelope, encode_ack
from protocols.uplink.envelope import CONTENT_TYPE

log = structlog.get_logger(__name__)

STORE_ATTEMPTS = 3  # a group that fails on a transient database error is tried again this often
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Delivery:
    topic: str
    payload: bytes
    mid: int
    qos: int


def default_client_id(prefix: str) -> str:
    return f"{prefix}-{socket.gethostname()[:20]}-{os.getpid()}"


class Consumer:
    """The broker side: a paho client on the shared subscription whose network thread only queues deliveries.

    The queue is bounded: when the worker falls behind, the network thread waits, TCP pushes back, and the
    broker holds the rest (or hands them to other workers of the group)."""

    def __init__(self, settings: MqttSettings, *, client_id: str, queue_size: int) -> None:
        self.settings = settings
        self.deliveries: queue.Queue[Delivery] = queue.Queue(queue_size)
        self.connected = threading.Event()
        self._client = broker_client(settings, client_id=client_id, manual_ack=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._props = Properties(PacketTypes.PUBLISH)
        self._props.ContentType = CONTENT_TYPE

    # Callbacks run in paho's network thread: they touch nothing but the queue and an event.
    def _on_connect(self, client: paho.Client, _userdata: object, _flags: object, reason: object,
                    _props: object) -> None:
        if getattr(reason, "is_failure", False):
            log.error("ingest_mqtt_refused", reason=str(reason))
            return
        # Subscribe on every connect: a clean start has no subscriptions.
        client.subscribe(topics.INGEST_SHARED_SUBSCRIPTION, qos=topics.QOS)
        self.connected.set()

    def _on_subscribe(self, _client: paho.Client, _userdata: object, _mid: int, reasons: list[ReasonCode],
                      _props: Properties) -> None:
        log.info("ingest_mqtt_subscribed", subscription=topics.INGEST_SHARED_SUBSCRIPTION,
                 granted=[str(r) for r in reasons])

    def _on_disconnect(self, _client: paho.Client, _userdata: object, _flags: object, reason: object,
                       _props: object) -> None:
        self.connected.clear()
        log.warning("ingest_mqtt_disconnected", reason=str(reason))

    def _on_message(self, _client: paho.Client, _userdata: object, message: paho.MQTTMessage) -> None:
        self.deliveries.put(Delivery(message.topic, bytes(message.payload), message.mid, message.qos))

    def start(self) -> None:
        # Clean start: messages in flight to a dead worker are not parked in its session; the gateway re-sends
        # what was never acknowledged and the group's live workers take it.
        self._client.connect_async(self.settings.host, self.settings.port, keepalive=self.settings.keepalive_s,
                                   clean_start=True)
        self._client.reconnect_delay_set(1, 30)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def puback(self, delivery: Delivery) -> None:
        if delivery.qos > 0:
            self._client.ack(delivery.mid, delivery.qos)

    def publish(self, topic: str, payload: bytes) -> None:
        self._client.publish(topic, payload, qos=topics.QOS, properties=self._props)


class IngestWorker:
    def __init__(self, database: Database, settings: CloudSettings, *, sink: TelemetrySink, keystore: KeyStore,
                 consumer: Consumer, clock: Clock) -> None:
        self.database = database
        self.settings = settings
        self.sink = sink
        self.keystore = keystore
        self.consumer = consumer
        self.clock = clock
        self.stored = 0  # records stored by this worker (diagnostics)

    # -- the loop ------------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            deliveries = self._take(0.5)
            if deliveries:
                self.process(deliveries)

    def _take(self, timeout: float) -> list[Delivery]:
        try:
            first = self.consumer.deliveries.get(timeout=timeout) if timeout > 0 else \
                self.consumer.deliveries.get_nowait()
        except queue.Empty:
            return []
        taken = [first]
        while len(taken) < self.settings.ingest.group_max_messages:
            try:
                taken.append(self.consumer.deliveries.get_nowait())
            except queue.Empty:
                break
        return taken

    # -- storing -------------------------------------------------------------------------------------------

    def process(self, deliveries: list[Delivery]) -> None:
        groups: dict[tuple[str, int], list[tuple[Envelope, Delivery]]] = defaultdict(list)
        for delivery in deliveries:
            envelope = self._decode(delivery)
            if envelope is None:
                self.consumer.puback(delivery)  # nothing to store, ever: let the broker forget it
                continue
            groups[(envelope.gateway, envelope.epoch)].append((envelope, delivery))
        for (gateway_id, _epoch), items in groups.items():
            items.sort(key=lambda item: item[0].first_seq or 0)
            self._store_group(gateway_id, [envelope for envelope, _ in items])
            for _, delivery in items:
                self.consumer.puback(delivery)

    def _decode(self, delivery: Delivery) -> Envelope | None:
        try:
            topic = topics.parse_topic(delivery.topic)
            if topic.channel != "up":
                raise EnvelopeError(f"not an uplink topic: {delivery.topic}", field="topic")
            return decode_envelope(delivery.payload, gateway=topic.gateway,
                                   max_bytes=self.settings.ingest.max_batch_bytes)
        except EnvelopeError as exc:
            error = batch_error(exc)
            log.warning("ingest_batch_refused", topic=delivery.topic[:200], status=error.status, code=error.code,
                        field=error.field, error=error.message[:300])
            return None

    def _store_group(self, gateway_id: str, envelopes: list[Envelope]) -> None:
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                signed = self._store(gateway_id, envelopes)
            except OperationalError as exc:  # connection lost, lock timeout, serialization: worth another try
                log.warning("ingest_store_retry", gateway=gateway_id, attempt=attempt, error=str(exc)[:300])
                time.sleep(0.2 * attempt)
                continue
            except CloudError as exc:  # refused (unknown gateway or epoch) or the telemetry store is down
                log.warning("ingest_group_refused", gateway=gateway_id, code=exc.code, error=exc.message)
                return
            if signed is not None:
                self.consumer.publish(topics.ack_topic(gateway_id), signed)
            return
        log.error("ingest_group_dropped", gateway=gateway_id, batches=len(envelopes))

    def _store(self, gateway_id: str, envelopes: list[Envelope]) -> bytes | None:
        """One transaction: every batch of the group, then the signed ack; returns the ack to publish."""
        now = self.clock()
        with self.database.session(write=True) as db:
            gateway = db.get(Gateway, gateway_id)
            if gateway is None or gateway.status != GatewayStatus.ACTIVE:
                log.warning("ingest_unknown_gateway", gateway=gateway_id)
                return None
            ack: Ack | None = None
            for envelope in envelopes:
                result = ingest_batch(db, sender=sender_for(gateway, envelope), envelope=envelope, sink=self.sink,
                                      now=now, alerts=self.settings.alerts)
                ack = result.ack
                self.stored += result.stored
            assert ack is not None
            signed = enqueue_command(db, gateway_id=gateway_id, kind="ack", body=json.loads(encode_ack(ack)),
                                     now=now, channel=ACK_CHANNEL, keystore=self.keystore)
            db.commit()
        return signed

    def close(self) -> None:
        """Nothing of its own to release (the consumer and the database belong to the caller)."""
