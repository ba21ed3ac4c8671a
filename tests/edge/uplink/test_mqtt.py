"""The MQTT uplink and the sender against the real broker and a receiver that stores and acks."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import paho.mqtt.client as paho
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion

from edge.downlink import CommandGate
from edge.outbox import Outbox
from edge.uplink import BatchConfig, MqttConfig, Sender, UplinkUnavailable
from edge.uplink.base import Batch
from edge.uplink.mqtt import MqttUplink
from fwsim.rig.mosquitto import MosquittoBroker
from fwsim.stage.receiver import AckingReceiver
from protocols import topics
from protocols.uplink import Status, decode_status
from tests.edge.uplink.conftest import BASE_MS, GATEWAY, append_records
from tests.rig.waiting import eventually

FAST = BatchConfig(max_records=100, max_linger_s=0.02, ack_timeout_s=2.0, window=4, backoff_initial_s=0.05,
                   backoff_max_s=0.5)


def mqtt_config(broker: MosquittoBroker) -> MqttConfig:
    return MqttConfig(host=broker.host, port=broker.port, insecure=True, keepalive_s=5, reconnect_initial_s=0.05,
                      reconnect_max_s=0.5)


@asynccontextmanager
async def running(broker: MosquittoBroker, outbox: Outbox, gate: CommandGate,
                  config: BatchConfig = FAST) -> AsyncIterator[tuple[MqttUplink, Sender]]:
    uplink = MqttUplink(mqtt_config(broker), gateway=GATEWAY, verify_ack=gate.verify_ack, epoch=outbox.epoch,
                        software="test")
    sender = Sender(outbox, uplink, config)
    async with uplink:
        await asyncio.wait_for(uplink.wait_connected(), 10)
        sender.start()
        try:
            yield uplink, sender
        finally:
            await sender.stop()


def assert_stored_once_in_order(receiver: AckingReceiver, epoch: int, count: int) -> None:
    stream = receiver.stream(GATEWAY, epoch)
    assert stream.watermark == count
    assert sorted(stream.records) == list(range(1, count + 1))  # every record, each stored once
    assert len(stream.order) == count
    # Seq i is the i-th record appended: its content (at_ms) proves the per-gateway order survived.
    assert all(stream.records[seq].at_ms == BASE_MS + seq for seq in stream.records)


async def test_records_arrive_exactly_once_in_order_and_the_outbox_empties(
        mosquitto: MosquittoBroker, receiver: AckingReceiver, outbox: Outbox, gate: CommandGate) -> None:
    async with running(mosquitto, outbox, gate) as (_uplink, sender):
        await append_records(outbox, 1, 1234)
        sender.notify()
        await asyncio.wait_for(sender.wait_acked(1234), 30)
        await append_records(outbox, 1235, 3)  # a small tail goes out once the linger expires
        await asyncio.wait_for(sender.wait_acked(1237), 30)
    assert_stored_once_in_order(receiver, outbox.epoch, 1237)
    assert receiver.duplicates == 0
    assert receiver.stream(GATEWAY, outbox.epoch).order == list(range(1, 1238))  # arrived in order too
    assert await outbox.pending(10) == [] and outbox.count == 0
    assert sender.batches_sent >= 13  # 100 records per batch at most
    assert gate.rejected == {}


async def test_broker_killed_mid_run_loses_nothing_and_deletes_only_what_was_acked(
        mosquitto_fresh, cloud_key: Ed25519PrivateKey, outbox: Outbox, gate: CommandGate) -> None:
    broker = mosquitto_fresh()
    receiver = AckingReceiver(broker.host, broker.port, cloud_key)
    receiver.start()
    try:
        async with running(broker, outbox, gate) as (uplink, sender):
            await append_records(outbox, 1, 300)
            sender.notify()
            await asyncio.wait_for(sender.wait_acked(300), 30)

            broker.kill()
            await eventually(lambda: not uplink.connected, timeout_s=15)
            await append_records(outbox, 301, 700)  # several batches queue up while the broker is gone
            sender.notify()
            await asyncio.sleep(0.5)
            assert sender.acked == 300
            assert [r.seq for r in await outbox.pending(1000)] == list(range(301, 1001))  # nothing deleted unacked

            broker.start()  # same port; the broker lost every session (no persistence)
            assert receiver.wait_subscribed()
            await asyncio.wait_for(sender.wait_acked(1000), 60)
            assert uplink.connects >= 2
    finally:
        receiver.stop()
    assert_stored_once_in_order(receiver, outbox.epoch, 1000)
    assert await outbox.pending(10) == []


async def test_a_lost_ack_causes_a_resend_and_the_duplicate_is_harmless(
        mosquitto: MosquittoBroker, receiver: AckingReceiver, outbox: Outbox, gate: CommandGate) -> None:
    receiver.drop_acks = 1
    config = FAST.model_copy(update={"window": 1, "ack_timeout_s": 0.5})
    async with running(mosquitto, outbox, gate, config) as (_uplink, sender):
        await append_records(outbox, 1, 50)
        sender.notify()
        await asyncio.wait_for(sender.wait_acked(50), 30)
        assert sender.rewinds >= 1
    assert receiver.duplicates >= 50  # the first batch arrived twice …
    assert_stored_once_in_order(receiver, outbox.epoch, 50)  # … and was stored once
    assert await outbox.pending(10) == []


async def test_a_gap_reported_by_the_cloud_is_resent_without_waiting_for_the_timeout(
        mosquitto: MosquittoBroker, receiver: AckingReceiver, outbox: Outbox, gate: CommandGate) -> None:
    receiver.drop_batch(1)  # the first batch never reaches the cloud; the second one's ack reports the gap
    config = FAST.model_copy(update={"max_records": 20, "window": 2, "ack_timeout_s": 120.0})
    async with running(mosquitto, outbox, gate, config) as (_uplink, sender):
        await append_records(outbox, 1, 40)
        sender.notify()
        await asyncio.wait_for(sender.wait_acked(40), 30)  # far below the 120 s ack timeout
        assert sender.rewinds >= 1
    assert_stored_once_in_order(receiver, outbox.epoch, 40)


async def test_acks_signed_by_an_unknown_key_delete_nothing(
        mosquitto: MosquittoBroker, outbox: Outbox, gate: CommandGate) -> None:
    forger = AckingReceiver(mosquitto.host, mosquitto.port, Ed25519PrivateKey.generate())
    forger.start()
    try:
        async with running(mosquitto, outbox, gate) as (_uplink, sender):
            await append_records(outbox, 1, 10)
            sender.notify()
            await eventually(lambda: forger.acks_sent >= 1, timeout_s=15)
            await eventually(lambda: gate.rejected["unknown_kid"] >= 1, timeout_s=15)
            assert sender.acked == 0
    finally:
        forger.stop()
    assert [r.seq for r in await outbox.pending(100)] == list(range(1, 11))


async def test_online_status_is_retained_and_a_clean_close_says_offline(
        mosquitto: MosquittoBroker, outbox: Outbox, gate: CommandGate) -> None:
    seen: list[bytes] = []
    watcher = paho.Client(CallbackAPIVersion.VERSION2, client_id="status-watcher", protocol=paho.MQTTv5)
    watcher.on_message = lambda _c, _u, msg: seen.append(msg.payload)
    uplink = MqttUplink(mqtt_config(mosquitto), gateway=GATEWAY, verify_ack=gate.verify_ack, epoch=3,
                        software="safegrid-test")
    async with uplink:
        await asyncio.wait_for(uplink.wait_connected(), 10)
        watcher.connect(mosquitto.host, mosquitto.port)
        watcher.loop_start()
        try:
            watcher.subscribe(topics.status_topic(GATEWAY), qos=1)
            await eventually(lambda: len(seen) >= 1, timeout_s=10)  # retained: delivered to a late subscriber
            online = decode_status(seen[0])
            assert online.online and online.epoch == 3 and online.software == "safegrid-test"
            await uplink.close()
            await eventually(lambda: len(seen) >= 2, timeout_s=10)
            assert decode_status(seen[-1]).online is False
        finally:
            watcher.disconnect()
            watcher.loop_stop()
    with pytest.raises(UplinkUnavailable):
        await uplink.submit(Batch(epoch=3, first_seq=1, last_seq=1, count=1, payload=b"{}"))


async def test_a_dropped_connection_publishes_the_last_will_and_reconnects(
        mosquitto: MosquittoBroker, outbox: Outbox, gate: CommandGate) -> None:
    seen: list[bool] = []
    watcher = paho.Client(CallbackAPIVersion.VERSION2, client_id="will-watcher", protocol=paho.MQTTv5)
    watcher.on_message = lambda _c, _u, msg: seen.append(decode_status(msg.payload).online)
    watcher.connect(mosquitto.host, mosquitto.port)
    watcher.loop_start()
    try:
        watcher.subscribe(topics.status_topic("gw-will-1"), qos=1)
        uplink = MqttUplink(mqtt_config(mosquitto), gateway="gw-will-1", verify_ack=gate.verify_ack)
        async with uplink:
            await eventually(lambda: seen[-1:] == [True], timeout_s=10)
            sock = uplink._client.socket()
            assert sock is not None
            sock.shutdown(socket.SHUT_RDWR)  # the link dies without a DISCONNECT: the broker sends the will
            await eventually(lambda: False in seen, timeout_s=15)
            await eventually(lambda: seen[-1:] == [True] and uplink.connects >= 2, timeout_s=15)  # back, online again
    finally:
        watcher.disconnect()
        watcher.loop_stop()


async def test_the_status_says_whether_the_clock_is_trusted_and_follows_it(
        mosquitto: MosquittoBroker, gate: CommandGate) -> None:
    """The retained online status carries ``clock_trusted``; a change is published at once (trust also lapses by
    itself, so it is watched), and while untrusted the gateway asks again now and then (uplink spec §6)."""
    seen: list[Status] = []
    watcher = paho.Client(CallbackAPIVersion.VERSION2, client_id="clock-watcher", protocol=paho.MQTTv5)
    watcher.on_message = lambda _c, _u, msg: seen.append(decode_status(msg.payload)) if msg.payload else None
    watcher.connect(mosquitto.host, mosquitto.port)
    watcher.loop_start()
    trusted = False
    try:
        watcher.subscribe(topics.status_topic("gw-clock-1"), qos=1)
        uplink = MqttUplink(mqtt_config(mosquitto), gateway="gw-clock-1", verify_ack=gate.verify_ack,
                            clock_trusted=lambda: trusted, clock_check_s=0.05, clock_ask_again_s=0.5)
        async with uplink:
            await eventually(lambda: len(seen) >= 1, timeout_s=10)
            assert seen[0].online and seen[0].clock_trusted is False
            await eventually(lambda: len(seen) >= 2, timeout_s=10)  # asked again while still untrusted
            assert seen[1].online and seen[1].clock_trusted is False
            trusted = True
            await eventually(lambda: seen[-1].clock_trusted is True, timeout_s=10)
            count = len(seen)
            await asyncio.sleep(1.0)
            assert len(seen) == count  # trusted: nothing more to say
            trusted = False  # e.g. drift beyond the bound
            await eventually(lambda: seen[-1].clock_trusted is False, timeout_s=10)
            assert seen[-1].online
        assert seen[-1].online is False  # the clean close says offline
    finally:
        watcher.publish(topics.status_topic("gw-clock-1"), b"", qos=1, retain=True).wait_for_publish(10)
        watcher.disconnect()
        watcher.loop_stop()


async def test_without_a_clock_source_the_status_says_nothing_of_the_clock(
        mosquitto: MosquittoBroker, gate: CommandGate) -> None:
    seen: list[bytes] = []
    watcher = paho.Client(CallbackAPIVersion.VERSION2, client_id="clock-watcher-2", protocol=paho.MQTTv5)
    watcher.on_message = lambda _c, _u, msg: seen.append(msg.payload)
    watcher.connect(mosquitto.host, mosquitto.port)
    watcher.loop_start()
    try:
        watcher.subscribe(topics.status_topic("gw-clock-2"), qos=1)
        async with MqttUplink(mqtt_config(mosquitto), gateway="gw-clock-2", verify_ack=gate.verify_ack):
            await eventually(lambda: len(seen) >= 1, timeout_s=10)
        await eventually(lambda: len(seen) >= 2, timeout_s=10)
        assert all(b"clock_trusted" not in payload for payload in seen)  # as before: old clouds parse it
    finally:
        watcher.publish(topics.status_topic("gw-clock-2"), b"", qos=1, retain=True).wait_for_publish(10)
        watcher.disconnect()
        watcher.loop_stop()
