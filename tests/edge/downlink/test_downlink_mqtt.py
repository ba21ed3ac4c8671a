"""Downlink commands through the real broker: only signed, fresh, addressed commands reach their handler, and every
command that could be read and names this gateway gets a ``command_result`` (refusals included)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from edge.downlink import CommandGate, CounterStore, Downlink, outbox_reporter
from edge.outbox import Outbox
from edge.uplink import MqttConfig
from edge.uplink.mqtt import MqttUplink
from fwsim.rig.mosquitto import MosquittoBroker
from protocols import topics
from protocols.commands import Command
from protocols.vectorgen import seeded_key
from tests.edge.downlink.commands import CLOUD_KEYS, GATEWAY, alarm_ack, now_ms
from tests.rig.waiting import eventually


async def test_forged_replayed_misdirected_and_expired_commands_never_reach_the_handler(
        mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    store = await CounterStore.open(tmp_path / "downlink.db")
    outbox = await Outbox.open(tmp_path / "outbox.db")
    gate = CommandGate(store, CLOUD_KEYS, gateway=GATEWAY)
    config = MqttConfig(host=mosquitto.host, port=mosquitto.port, insecure=True, reconnect_initial_s=0.05)
    uplink = MqttUplink(config, gateway=GATEWAY, verify_ack=gate.verify_ack)
    downlink = Downlink(uplink, gate, report=outbox_reporter(outbox))
    handled: list[Command] = []

    async def on_alarm_ack(command: Command) -> None:
        handled.append(command)

    downlink.register("alarm_ack", on_alarm_ack)
    cloud = paho.Client(CallbackAPIVersion.VERSION2, client_id="test-cloud", protocol=paho.MQTTv5)
    try:
        async with uplink:
            downlink.start()
            await asyncio.wait_for(uplink.wait_connected(), 10)
            cloud.connect(mosquitto.host, mosquitto.port)
            cloud.loop_start()
            genuine = alarm_ack(1, alarm_id="alarm-first")
            sent = [
                genuine,
                alarm_ack(2, key=seeded_key("downlink-test-forger")),  # forged: unknown_kid
                genuine,  # replayed
                alarm_ack(3, gateway="gw-elsewhere"),  # misdirected: wrong_gateway
                alarm_ack(4, issued_at_ms=now_ms() - 600_000),  # expired
                alarm_ack(5, alarm_id="alarm-second"),
            ]
            for wire in sent:
                cloud.publish(topics.downlink_topic(GATEWAY), wire, qos=1).wait_for_publish(5)
            await eventually(lambda: sum(gate.accepted.values()) + sum(gate.rejected.values()) == len(sent),
                             "every command through the gate", timeout_s=30)
            await downlink.stop()
    finally:
        cloud.disconnect()
        cloud.loop_stop()
    try:
        assert [c.body.alarm_id for c in handled] == ["alarm-first", "alarm-second"]
        assert gate.rejected == {"unknown_kid": 1, "replayed": 1, "wrong_gateway": 1, "expired": 1}
        assert store.last("down") == 5
        reports = [r.body["data"] for r in await outbox.pending(10)]
        # The misdirected one names another gateway: not this gateway's to report. The forged one is reported
        # with its code, marked unverified (its counter and kind are only what it claims).
        assert reports == [{"counter": 1, "kind": "alarm_ack", "result": "applied"},
                           {"counter": 2, "kind": "alarm_ack", "result": "unknown_kid", "verified": False},
                           {"counter": 1, "kind": "alarm_ack", "result": "replayed"},
                           {"counter": 4, "kind": "alarm_ack", "result": "expired"},
                           {"counter": 5, "kind": "alarm_ack", "result": "applied"}]
    finally:
        await outbox.close()
        await store.close()
