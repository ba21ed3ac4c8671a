"""The edge uplink: one facade (:class:`Uplink`) over an MQTT 5 and an HTTP backend, chosen by config, and the
:class:`Sender` that drains the outbox through it, deleting only what the cloud acknowledged."""

from edge.uplink.base import AckVerifier, Batch, InboundCommand, Uplink
from edge.uplink.batching import build_batch
from edge.uplink.config import BatchConfig, HttpConfig, MqttConfig, TlsConfig, UplinkConfig, UplinkKind
from edge.uplink.errors import AckTimeout, UplinkError, UplinkRejected, UplinkUnavailable
from edge.uplink.factory import open_uplink
from edge.uplink.sender import Sender

__all__ = ["AckTimeout", "AckVerifier", "Batch", "BatchConfig", "HttpConfig", "InboundCommand", "MqttConfig",
           "Sender", "TlsConfig", "Uplink", "UplinkConfig", "UplinkError", "UplinkKind", "UplinkRejected",
           "UplinkUnavailable", "build_batch", "open_uplink"]
