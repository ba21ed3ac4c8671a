"""The MQTT 5 topic scheme of the uplink and downlink: build a gateway's topics, parse a received one.

    safegrid/v1/gw/{gateway}/up      gateway → cloud   batches (Envelope), QoS 1
    safegrid/v1/gw/{gateway}/down    cloud → gateway   signed commands (down channel), QoS 1
    safegrid/v1/gw/{gateway}/ack     cloud → gateway   signed ack commands (ack channel), QoS 1
    safegrid/v1/gw/{gateway}/status  gateway → all     Status, retained; the last will says offline

Cloud ingest workers share the uplink with ``$share/ingest/safegrid/v1/gw/+/up``. A gateway id is letters,
digits, '-' and '_' only, so it can never smuggle a level separator or a wildcard into a topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from protocols.errors import EnvelopeError
from protocols.uplink.fields import GATEWAY_ID_RE

ROOT = "safegrid/v1/gw"
QOS = 1  # at least once: duplicates are harmless (idempotent by gateway, epoch, seq and by counter)

TopicChannel = Literal["up", "down", "ack", "status"]
CHANNELS: tuple[TopicChannel, ...] = ("up", "down", "ack", "status")

INGEST_SHARE_GROUP = "ingest"
#: What every cloud ingest worker subscribes to: the broker hands each batch to one worker of the group.
INGEST_SHARED_SUBSCRIPTION = f"$share/{INGEST_SHARE_GROUP}/{ROOT}/+/up"
#: What the cloud watches for gateways coming and going (retained, so a new subscriber sees them all).
STATUS_SUBSCRIPTION = f"{ROOT}/+/status"

MAX_TOPIC_BYTES = 256


@dataclass(frozen=True, slots=True)
class Topic:
    gateway: str
    channel: TopicChannel


def check_gateway_id(gateway: str) -> str:
    """``gateway`` if it is a valid gateway id, else EnvelopeError (field gateway)."""
    if not isinstance(gateway, str) or not GATEWAY_ID_RE.fullmatch(gateway):
        raise EnvelopeError("a gateway id is 1-64 letters, digits, '-' or '_', starting with a letter or digit",
                            field="gateway")
    return gateway


def topic(gateway: str, channel: TopicChannel) -> str:
    if channel not in CHANNELS:
        raise EnvelopeError(f"unknown topic channel {channel!r}", field="channel")
    return f"{ROOT}/{check_gateway_id(gateway)}/{channel}"


def uplink_topic(gateway: str) -> str:
    return topic(gateway, "up")


def downlink_topic(gateway: str) -> str:
    return topic(gateway, "down")


def ack_topic(gateway: str) -> str:
    return topic(gateway, "ack")


def status_topic(gateway: str) -> str:
    return topic(gateway, "status")


def gateway_subscriptions(gateway: str) -> list[str]:
    """The topics a gateway subscribes to (its down and ack channels)."""
    return [downlink_topic(gateway), ack_topic(gateway)]


def parse_topic(name: str | bytes) -> Topic:
    """Which gateway and channel a received topic is; a foreign or malformed topic is EnvelopeError.

    Accepts only the exact shape ``safegrid/v1/gw/{gateway}/{channel}`` (the shared-subscription prefix is
    never part of a received topic name).
    """
    if isinstance(name, bytes | bytearray):
        try:
            name = bytes(name).decode("utf-8")
        except UnicodeDecodeError:
            raise EnvelopeError("topic is not UTF-8", field="topic") from None
    if not isinstance(name, str):
        raise EnvelopeError(f"expected a topic string, got {type(name).__name__}", field="topic")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_TOPIC_BYTES:
        raise EnvelopeError("topic too long", field="topic")
    prefix = ROOT + "/"
    if not name.startswith(prefix):
        raise EnvelopeError(f"not a SafeGrid v1 gateway topic: {name!r}", field="topic")
    parts = name[len(prefix):].split("/")
    if len(parts) != 2:
        raise EnvelopeError(f"expected {ROOT}/<gateway>/<channel>: {name!r}", field="topic")
    gateway, channel = parts
    check_gateway_id(gateway)
    if channel not in CHANNELS:
        raise EnvelopeError(f"unknown topic channel {channel!r}", field="topic")
    return Topic(gateway, channel)
