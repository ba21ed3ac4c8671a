"""The rig's Mosquitto fixtures: a real broker carries MQTT 5 messages and comes back on the same port."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import paho.mqtt.client as mqtt
import pytest

from fwsim.rig.mosquitto import MosquittoBroker
from fwsim.rig.processes import ServiceError, accepts_connections

WAIT_S = 10.0


class Probe:
    """A paho client on its own network thread, turning callbacks into queues the test can wait on."""

    def __init__(self, broker: MosquittoBroker, client_id: str) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.connected: queue.Queue[object] = queue.Queue()
        self.disconnected = threading.Event()
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.subscribed: queue.Queue[int] = queue.Queue()
        self.client.on_connect = lambda _c, _u, _f, reason, _p: self.connected.put(reason)
        self.client.on_disconnect = lambda *_args: self.disconnected.set()
        self.client.on_message = lambda _c, _u, message: self.messages.put(message)
        self.client.on_subscribe = lambda _c, _u, mid, _reasons, _p: self.subscribed.put(mid)
        self.client.connect(broker.host, broker.port, keepalive=5)
        self.client.loop_start()

    def wait_connected(self) -> None:
        reason = self.connected.get(timeout=WAIT_S)
        assert not reason.is_failure, reason  # type: ignore[attr-defined]

    def subscribe(self, topic: str) -> None:
        """Subscribe and wait for the SUBACK, so a message published next cannot overtake it."""
        result, mid = self.client.subscribe(topic, qos=1)
        assert result == mqtt.MQTT_ERR_SUCCESS
        assert self.subscribed.get(timeout=WAIT_S) == mid

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(timeout=WAIT_S)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def probe(broker: MosquittoBroker, client_id: str) -> Iterator[Probe]:
    client = Probe(broker, client_id)
    try:
        client.wait_connected()
        yield client
    finally:
        client.close()


def test_session_broker_carries_a_message_between_two_clients(mosquitto: MosquittoBroker) -> None:
    with probe(mosquitto, "rig-sub") as subscriber, probe(mosquitto, "rig-pub") as publisher:
        subscriber.subscribe("rig/test/#")
        publisher.publish("rig/test/data", b"\x00\x01binary")
        message = subscriber.messages.get(timeout=WAIT_S)
    assert (message.topic, message.payload) == ("rig/test/data", b"\x00\x01binary")


def test_fresh_broker_killed_mid_run_comes_back_on_the_same_port(mosquitto_fresh) -> None:
    broker = mosquitto_fresh()
    port = broker.port
    with probe(broker, "rig-survivor") as client:
        broker.kill()
        assert client.disconnected.wait(WAIT_S)
        assert not broker.running
        assert not accepts_connections(broker.host, port)

        broker.start()
        assert broker.port == port
        client.wait_connected()  # paho's own reconnect, to the same address
        # The broker kept nothing (persistence off): subscribe again after the restart.
        client.subscribe("rig/after")
        client.publish("rig/after", b"back")
        assert client.messages.get(timeout=WAIT_S).payload == b"back"


def test_fresh_brokers_are_independent_of_the_session_broker(mosquitto: MosquittoBroker, mosquitto_fresh) -> None:
    private = mosquitto_fresh()
    assert private.port != mosquitto.port
    private.stop()
    assert accepts_connections(mosquitto.host, mosquitto.port)


def test_broker_log_is_captured(mosquitto_fresh) -> None:
    broker = mosquitto_fresh()
    with probe(broker, "rig-logged"):
        pass
    broker.stop()
    assert "rig-logged" in broker.log_tail(200)


def test_start_fails_loudly_when_the_port_is_taken(mosquitto: MosquittoBroker, mosquitto_fresh) -> None:
    with pytest.raises(ServiceError, match="mosquitto exited"):
        mosquitto_fresh(port=mosquitto.port)
