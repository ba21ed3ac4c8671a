"""Configuration of the uplink: which backend (MQTT or HTTP), how to reach the cloud, how to batch.

The sections are ``[uplink]``, ``[uplink.mqtt]`` or ``[uplink.http]`` and ``[uplink.batch]`` of edge.toml.
There are no default credentials: TLS files and the device token are named by the operator or absent.

TLS is the default: an MQTT section without ``tls`` verifies the broker against the system's trust store, and
an HTTP ``base_url`` must be ``https://``. Plaintext (a private test broker, a cloud on loopback) needs an
explicit ``insecure = true``, and the uplink logs a warning each time it starts so.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator, model_validator

from protocols.uplink import MAX_ENVELOPE_BYTES, MAX_RECORDS
from safegrid.config import StrictModel

PositiveSeconds = Annotated[float, Field(gt=0)]


class UplinkKind(StrEnum):
    MQTT = "mqtt"
    HTTP = "http"


class TlsConfig(StrictModel):
    """Server verification and, when ``cert_file`` is given, a client certificate (mutual TLS)."""

    ca_file: Path | None = None  # None: the system's trust store
    cert_file: Path | None = None
    key_file: Path | None = None

    @model_validator(mode="after")
    def _pair(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self


PLAINTEXT_MQTT_PORT = 1883


class MqttConfig(StrictModel):
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 8883
    tls: TlsConfig | None = None  # None: TLS against the system's trust store, unless insecure
    # Plain TCP, no TLS: a private test broker only (warned at every start).
    insecure: bool = Field(False, validate_default=True)
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    # How long the broker keeps our session (subscriptions, queued QoS 1 commands) while we are away.
    session_expiry_s: Annotated[int, Field(ge=0, le=2**32 - 1)] = 7 * 24 * 3600
    reconnect_initial_s: PositiveSeconds = 0.5
    reconnect_max_s: PositiveSeconds = 60.0
    max_inflight_messages: Annotated[int, Field(ge=1, le=65535)] = 64

    # Checked on ``insecure`` (validated even when absent) so that the error names the key to set.
    @field_validator("insecure")
    @classmethod
    def _transport(cls, insecure: bool, info: ValidationInfo) -> bool:
        if insecure and info.data.get("tls") is not None:
            raise ValueError("insecure = true turns TLS off: remove it or the tls section")
        if not insecure and info.data.get("port") == PLAINTEXT_MQTT_PORT:
            # TLS is the default and 1883 is the broker's plaintext port: a plaintext setup that forgot to say
            # so, or a TLS one on the wrong port; either way it could never connect.
            raise ValueError(f"port {PLAINTEXT_MQTT_PORT} is plaintext MQTT and TLS is the default: use the TLS "
                             "port (8883), or set insecure = true to send in plaintext")
        return insecure

    @property
    def effective_tls(self) -> TlsConfig | None:
        """The TLS settings the client uses: None only when ``insecure``."""
        if self.insecure:
            return None
        return self.tls if self.tls is not None else TlsConfig()


class HttpConfig(StrictModel):
    base_url: str  # e.g. https://cloud.example.org
    tls: TlsConfig | None = None
    # Allows an http:// base_url: plaintext, a cloud on loopback only (warned at every start).
    insecure: bool = Field(False, validate_default=True)
    token_file: Path | None = None  # a device token sent as "Authorization: Bearer …", when no client certificate
    timeout_s: PositiveSeconds = 30.0
    poll_interval_s: PositiveSeconds = 10.0  # how often to ask for downlink commands

    @field_validator("insecure")
    @classmethod
    def _transport(cls, insecure: bool, info: ValidationInfo) -> bool:
        base_url = info.data.get("base_url")
        if base_url is None:
            return insecure  # base_url itself is wrong: that error is reported
        scheme = base_url.split("://", 1)[0].lower() if "://" in base_url else ""
        if scheme not in ("http", "https"):
            raise ValueError("base_url must start with https:// (or http:// with insecure = true)")
        if scheme == "http" and not insecure:
            raise ValueError("base_url is http:// (plaintext) and TLS is the default: use https://, or set "
                             "insecure = true to send in plaintext")
        if scheme == "http" and info.data.get("tls") is not None:
            raise ValueError("a tls section needs an https:// base_url")
        return insecure

    @property
    def plaintext(self) -> bool:
        return self.base_url.lower().startswith("http://")


class BatchConfig(StrictModel):
    max_records: Annotated[int, Field(ge=1, le=MAX_RECORDS)] = 500
    max_bytes: Annotated[int, Field(ge=1024, le=MAX_ENVELOPE_BYTES)] = 512 * 1024
    max_linger_s: Annotated[float, Field(ge=0)] = 0.2  # wait this long for a batch to fill before sending it
    compress: bool = False
    ack_timeout_s: PositiveSeconds = 15.0
    window: Annotated[int, Field(ge=1, le=64)] = 4  # batches sent and not yet acknowledged
    backoff_initial_s: PositiveSeconds = 0.5
    backoff_max_s: PositiveSeconds = 30.0


class UplinkConfig(StrictModel):
    backend: UplinkKind
    mqtt: MqttConfig | None = None
    http: HttpConfig | None = None
    batch: BatchConfig = BatchConfig()

    @model_validator(mode="after")
    def _backend_section(self) -> UplinkConfig:
        if getattr(self, self.backend.value) is None:
            raise ValueError(f"backend {self.backend.value!r} needs its [uplink.{self.backend.value}] section")
        return self
