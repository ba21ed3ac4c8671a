"""A minimal cloud ingest for tests and the uplink benchmark, talking to a real broker.

It subscribes to every gateway's uplink topic, decodes each batch, stores records by (gateway, epoch, seq)
exactly once (a summary accounts for its whole range), computes the contiguous watermark and answers with an
``ack`` command signed by a test cloud key on the gateway's ack topic — what the real cloud does, minus the
database. Runs in paho's own thread (started by :meth:`start`, stopped by :meth:`stop`).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as paho
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion

from protocols import crypto, topics
from protocols.commands import make_command, sign_command
from protocols.uplink import decode_envelope, make_ack


@dataclass
class Stream:
    """What is stored for one (gateway, epoch)."""

    watermark: int = 0
    above: set[int] = field(default_factory=set)  # accounted-for seqs above the watermark
    records: dict[int, Any] = field(default_factory=dict)  # seq -> Record (only when keeping records)
    order: list[int] = field(default_factory=list)  # seqs in the order they were first stored

    def has(self, seq: int) -> bool:
        return seq <= self.watermark or seq in self.above

    def account(self, first: int, last: int) -> None:
        self.above.update(range(first, last + 1))
        while self.watermark + 1 in self.above:
            self.watermark += 1
            self.above.discard(self.watermark)

    def first_gap(self) -> tuple[int, int] | None:
        if not self.above:
            return None
        return self.watermark + 1, min(self.above) - 1


class AckingReceiver:
    """Stores and acks. ``drop_acks`` acks are not sent (lost); ``drop_batch(seq)`` loses the next batch
    containing ``seq`` once (as if the broker never delivered it), so the following ack reports a gap."""

    def __init__(self, host: str, port: int, key: Ed25519PrivateKey, *, keep_records: bool = True,
                 clock_ms: Callable[[], int] | None = None) -> None:
        self.host = host
        self.port = port
        self._key = key
        self._kid = crypto.key_id(key)
        self.keep_records = keep_records
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.streams: dict[tuple[str, int], Stream] = {}
        self.batches = 0
        self.records_received = 0
        self.duplicates = 0
        self.conflicts = 0  # duplicates (kept records only) whose content differs from the stored record
        self.acks_sent = 0
        self.drop_acks = 0
        self._drop_seqs: set[int] = set()
        self.enabled = True  # when False, batches are ignored entirely (a cloud that is down)
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"test-ingest-{id(self)}",
                                   protocol=paho.MQTTv5)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(1, 2)

    def start(self, timeout: float = 10.0) -> None:
        self._client.connect(self.host, self.port)
        self._client.loop_start()
        if not self._subscribed.wait(timeout):
            self.stop()
            raise TimeoutError("the test receiver could not subscribe")

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def wait_subscribed(self, timeout: float = 15.0) -> bool:
        return self._subscribed.wait(timeout)

    def drop_batch(self, seq: int) -> None:
        with self._lock:
            self._drop_seqs.add(seq)

    def stream(self, gateway: str, epoch: int) -> Stream:
        with self._lock:
            return self.streams.setdefault((gateway, epoch), Stream())

    def snapshot(self, gateway: str, epoch: int) -> tuple[int, list[Any], list[int]]:
        """A consistent copy of one stream, safe to read while batches arrive: (watermark, the stored records in
        seq order, the seqs in the order they were first stored)."""
        with self._lock:
            stream = self.streams.get((gateway, epoch), Stream())
            return stream.watermark, [stream.records[seq] for seq in sorted(stream.records)], list(stream.order)

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        client.subscribe(f"{topics.ROOT}/+/up", qos=topics.QOS)  # again after a broker restart lost the session
        self._subscribed.set()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        gateway = topics.parse_topic(message.topic).gateway
        envelope = decode_envelope(bytes(message.payload), gateway=gateway)
        with self._lock:
            if not self.enabled or not envelope.records:
                return
            if self._drop_seqs and any(r.seq in self._drop_seqs for r in envelope.records):
                self._drop_seqs -= {r.seq for r in envelope.records}
                return
            self.batches += 1
            stream = self.streams.setdefault((gateway, envelope.epoch), Stream())
            for record in envelope.records:
                self.records_received += 1
                if stream.has(record.seq):
                    self.duplicates += 1
                    if self.keep_records and record.seq in stream.records and stream.records[record.seq] != record:
                        self.conflicts += 1
                    continue
                if self.keep_records:
                    stream.records[record.seq] = record
                    stream.order.append(record.seq)
                stream.account(record.seq, record.last_seq)
            gap = stream.first_gap()
            ack = make_ack(gateway, envelope.epoch, stream.watermark, [gap] if gap else [])
            if self.drop_acks > 0:
                self.drop_acks -= 1
                return
            now = self._clock_ms()
            command = make_command({"kind": "ack", "gateway": gateway, "counter": next(self._counter),
                                    "issued_at_ms": now, "expires_at_ms": now + 60_000, "body": ack})
            self.acks_sent += 1
        client.publish(topics.ack_topic(gateway), sign_command(command, self._key, kid=self._kid), qos=topics.QOS)
