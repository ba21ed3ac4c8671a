"""The MQTT adapter of the downlink (paho, MQTT 5): publish signed command bytes on a gateway's down or ack
topic at QoS 1 and wait for the broker's PUBACK; optionally watch the gateways' retained statuses (how a gateway
with an untrusted clock asks for a time command, ``cloud.downlink.timesync``)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from protocols import topics
from protocols.commands import ACK_CHANNEL, Channel
from protocols.errors import EnvelopeError
from protocols.uplink import Status, decode_status

log = structlog.get_logger(__name__)

#: Called on paho's network thread with the gateway of the topic and its status (the payload names the same one).
StatusListener = Callable[[str, Status], None]


class PublishError(Exception):
    """The broker could not be reached or did not acknowledge in time."""


@dataclass(frozen=True)
class BrokerSettings:
    host: str
    port: int
    client_id: str
    tls: ssl.SSLContext | None = None
    username: str | None = None
    password: str | None = None
    timeout_s: float = 10.0


class MqttPublisher:
    """One connection to the broker on paho's network thread; ``publish`` blocks until the PUBACK. With
    ``on_status`` it also subscribes to every gateway's status topic (again on each connection: the session is not
    kept, and the broker then hands over every retained status, so nothing said meanwhile is missed)."""

    def __init__(self, settings: BrokerSettings, *, on_status: StatusListener | None = None) -> None:
        self.settings = settings
        self._on_status = on_status
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=settings.client_id,
                                   protocol=mqtt.MQTTv5)
        if settings.tls is not None:
            self._client.tls_set_context(settings.tls)
        if settings.username is not None:
            self._client.username_pw_set(settings.username, settings.password)
        self._connected = threading.Event()
        self._refused: str | None = None
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = lambda *_args: self._connected.clear()
        self._client.on_message = self._on_message

    def _on_connect(self, _client: mqtt.Client, _userdata: object, _flags: object, reason: object,
                    _props: object) -> None:
        if getattr(reason, "is_failure", False):
            self._refused = str(reason)
            return
        if self._on_status is not None:
            _client.subscribe(topics.STATUS_SUBSCRIPTION, qos=topics.QOS)
        self._connected.set()

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        if self._on_status is None:
            return
        try:
            where = topics.parse_topic(message.topic)
            if where.channel != "status":
                raise EnvelopeError(f"not a status topic: {message.topic!r}", field="topic")
            status = decode_status(bytes(message.payload))
            if status.gateway != where.gateway:  # the ACL binds the topic to the gateway, not the payload
                raise EnvelopeError(f"status of {status.gateway} on {where.gateway}'s topic", field="gateway")
        except EnvelopeError as exc:
            log.warning("downlink_status_refused", topic=str(message.topic)[:200], code=exc.code, error=str(exc))
            return
        try:
            self._on_status(where.gateway, status)
        except Exception:  # a listener bug must not end paho's network thread
            log.exception("downlink_status_listener_failed", gateway=where.gateway)

    def connect(self) -> None:
        try:
            self._client.connect(self.settings.host, self.settings.port, keepalive=30)
        except OSError as exc:
            raise PublishError(f"cannot reach the broker {self.settings.host}:{self.settings.port}: {exc}") from exc
        self._client.loop_start()
        if not self._connected.wait(self.settings.timeout_s):
            self.close()
            raise PublishError(f"the broker did not accept the connection: {self._refused or 'timeout'}")

    def publish(self, gateway_id: str, payload: bytes, *, channel: Channel = "down",
                expiry_s: int | None = None) -> None:
        """``expiry_s``: the MQTT 5 message expiry — a broker holding the message for an offline session drops
        it after that many seconds instead of delivering it late."""
        topic = topics.ack_topic(gateway_id) if channel == ACK_CHANNEL else topics.downlink_topic(gateway_id)
        props = Properties(PacketTypes.PUBLISH)
        props.ContentType = "application/json"
        if expiry_s is not None:
            props.MessageExpiryInterval = max(1, int(expiry_s))
        info = self._client.publish(topic, payload, qos=topics.QOS, properties=props)
        try:
            info.wait_for_publish(timeout=self.settings.timeout_s)
        except (RuntimeError, ValueError) as exc:  # paho: not connected / queue full
            raise PublishError(f"publish to {topic} failed: {exc}") from exc
        if not info.is_published():
            raise PublishError(f"no PUBACK for {topic} within {self.settings.timeout_s} s")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> MqttPublisher:
        self.connect()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
