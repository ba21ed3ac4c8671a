"""The cloud services' MQTT broker connection: its settings (``[ingest.mqtt]``) and a paho client built from them.

Shared by the ingest worker, the downlink publisher and the rules worker's notifications, so none of them
imports another's domain for it.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import Field

from safegrid.config import StrictModel


class MqttTls(StrictModel):
    ca_file: Path | None = Field(None, description="CA bundle the broker's certificate must chain to")
    cert_file: Path | None = Field(None, description="the ingest worker's client certificate")
    key_file: Path | None = None


class MqttSettings(StrictModel):
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password_file: Path | None = Field(None, description="file holding the broker password (none by default)")
    tls: MqttTls | None = None
    keepalive_s: int = Field(30, ge=5, le=3600)
    client_id_prefix: str = Field("safegrid-ingest", pattern=r"^[A-Za-z0-9_-]{1,40}$",
                                  description="each worker appends its host and pid")


def broker_client(settings: MqttSettings, *, client_id: str, manual_ack: bool = False) -> paho.Client:
    """A paho client with the cloud services' broker identity of ``[ingest.mqtt]`` (password, TLS), unconnected."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5,
                         manual_ack=manual_ack)
    if settings.username is not None:
        password = (Path(settings.password_file).read_text(encoding="utf-8").strip()
                    if settings.password_file else None)
        client.username_pw_set(settings.username, password)
    if settings.tls is not None:
        context = ssl.create_default_context(cafile=str(settings.tls.ca_file) if settings.tls.ca_file else None)
        if settings.tls.cert_file is not None:
            context.load_cert_chain(str(settings.tls.cert_file),
                                    str(settings.tls.key_file) if settings.tls.key_file else None)
        client.tls_set_context(context)
    return client
